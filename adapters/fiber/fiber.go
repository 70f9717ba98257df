// Package gwsfiber mounts gws on Fiber (v2).
//
//	upgrader := &gws.Upgrader{}
//	app.Get("/ws", gwsfiber.Handler(upgrader, handler))
//
// Handler serves a route with WebSockets only; Middleware upgrades WebSocket
// requests and passes every other request on with c.Next, so a page and its
// socket can share a path. Fiber runs on fasthttp, and the upgrade is that
// of the fasthttp adapter (package gwsfasthttp) on c.Context(): the request
// is converted once, core checks it, and the connection is taken over with
// RequestCtx.Hijack, bytes already read past the request included.
//
// # Router values
//
// Fiber recycles its Ctx once the handler returns, so nothing of it is
// kept. At upgrade time, before CheckOrigin runs, the adapter copies into
// the request's Storage, which becomes the connection's:
//   - every c.Locals value with a string key, under that key (as
//     gwsfasthttp copies user values: strings and byte slices are copied
//     out of fasthttp's buffers; other key types are left out);
//   - every route parameter, under "param:" + its name as c.Route().Params
//     lists it, so "/rooms/:room" gives "param:room" and the first
//     wildcard "param:*1".
//
// The request's context is c.UserContext(), so values a middleware put
// there with c.SetUserContext are reachable through socket.Context, which
// core derives from it without its cancellation.
//
// # Memory per idle connection
//
// The hijack handler returns as soon as the connection is detached from
// fasthttp, so an idle connection holds neither Fiber's Ctx nor fasthttp's
// RequestCtx and read buffer (fasthttp issue 2363): with 2,000 idle
// connections on Linux, heap and goroutine stacks come to about 3.7 KB per
// connection, against 16 KB when the events run inside the hijack handler
// (README.md has the figures and how to measure them).
package gwsfiber

import (
	"github.com/gofiber/fiber/v2"
	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gws "github.com/gwsgo/gws/core"
)

// Handler returns a fiber.Handler that upgrades every request. A rejected
// handshake is answered with its HTTP status and reason.
func Handler(u *gws.Upgrader, h gws.EventHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		req, err := gwsfasthttp.NewRequest(c.Context())
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "websocket: malformed request")
		}
		req.Request = req.WithContext(c.UserContext())
		req.RouterContext = c
		gwsfasthttp.PutParams(req, c.Route().Params, c.Params)
		// A rejected handshake has been answered on c.Context() already;
		// handing the error to Fiber would have its error handler answer
		// again.
		_ = gwsfasthttp.UpgradeRequest(u, c.Context(), req, h)
		return nil
	}
}

// Middleware returns a fiber.Handler that upgrades WebSocket requests, as
// Handler does, and passes every other request on with c.Next.
func Middleware(u *gws.Upgrader, h gws.EventHandler) fiber.Handler {
	ws := Handler(u, h)
	return func(c *fiber.Ctx) error {
		if gwsfasthttp.IsUpgrade(c.Context()) {
			return ws(c)
		}
		return c.Next()
	}
}
