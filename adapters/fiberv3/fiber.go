// Package gwsfiberv3 mounts gws on Fiber v3 (package gwsfiber is Fiber
// v2's; a program can import both).
//
//	upgrader := &gws.Upgrader{}
//	app.Get("/ws", gwsfiberv3.Handler(upgrader, handler))
//
// Handler serves a route with WebSockets only; Middleware upgrades WebSocket
// requests and passes every other request on with c.Next, so a page and its
// socket can share a path. Fiber runs on fasthttp, and the upgrade is that
// of the fasthttp adapter (package gwsfasthttp) on c.RequestCtx(), as for
// Fiber v2: the request is converted once, core checks it, and the
// connection is taken over with RequestCtx.Hijack and handed to core's
// Upgrader.Accept, which writes the 101; bytes already read past the
// request are kept.
//
// # Router values
//
// Fiber recycles its Ctx once the handler returns, so nothing of it is
// kept. At upgrade time, before CheckOrigin runs, the adapter copies into
// the request's Storage, which becomes the connection's:
//   - every c.Locals value (or fiber.Locals) with a string key, under that
//     key (as gwsfasthttp copies user values: strings and byte slices are
//     copied out of fasthttp's buffers; other key types are left out);
//   - every route parameter, under "param:" + its name as c.Route().Params
//     lists it, so "/rooms/:room" gives "param:room" and the first
//     wildcard "param:*1".
//
// While CheckOrigin runs, r.RouterContext is the fiber.Ctx. The request's
// context is c.Context(), so values a middleware put there with
// c.SetContext are reachable through socket.Context, which core derives
// from it without its cancellation.
//
// # Memory per idle connection
//
// As on Fiber v2, the hijack handler returns as soon as the connection is
// detached from fasthttp, so an idle connection holds neither Fiber's Ctx
// nor fasthttp's RequestCtx and read buffer (README.md has the figures
// and how to measure them).
package gwsfiberv3

import (
	"github.com/gofiber/fiber/v3"
	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gws "github.com/gwsgo/gws/core"
)

// Handler returns a fiber.Handler that upgrades every request. A rejected
// handshake is answered with its HTTP status and reason.
func Handler(u *gws.Upgrader, h gws.EventHandler) fiber.Handler {
	return func(c fiber.Ctx) error {
		req, err := gwsfasthttp.NewRequest(c.RequestCtx())
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "websocket: malformed request")
		}
		req.Request = req.WithContext(c.Context())
		req.RouterContext = c
		gwsfasthttp.PutParams(req, c.Route().Params, c.Params)
		// A rejected handshake has been answered on c.RequestCtx()
		// already; handing the error to Fiber would have its error handler
		// answer again.
		_ = gwsfasthttp.UpgradeRequest(u, c.RequestCtx(), req, h)
		return nil
	}
}

// Middleware returns a fiber.Handler that upgrades WebSocket requests, as
// Handler does, and passes every other request on with c.Next.
func Middleware(u *gws.Upgrader, h gws.EventHandler) fiber.Handler {
	ws := Handler(u, h)
	return func(c fiber.Ctx) error {
		if gwsfasthttp.IsUpgrade(c.RequestCtx()) {
			return ws(c)
		}
		return c.Next()
	}
}
