// Package gwsechov5 mounts gws on Echo v5 (package gwsecho is Echo v4's;
// a program can import both).
//
//	upgrader := &gws.Upgrader{}
//	e.GET("/ws", gwsechov5.Handler(upgrader, handler))
//
// Handler serves a route with WebSockets only; Middleware upgrades WebSocket
// requests and passes every other request on to the next handler, so a page
// and its socket can share a path. Both call gws.Upgrader.UpgradeRequest,
// as on net/http and Echo v4: core checks the request before the
// connection is taken over, so a rejected handshake is an ordinary HTTP
// response. After the
// connection is taken over the handler returns nil and marks Echo's
// Response committed, so that Echo's error handler never writes on it, and
// the connection's events run on a goroutine of their own.
//
// # Router values
//
// Echo recycles its Context once the handler returns, so nothing of it is
// kept for the connection. At upgrade time, before CheckOrigin runs, every
// route parameter (c.PathValues()) is copied into the request's Storage,
// which becomes the connection's, under "param:" + its name:
// "/rooms/:room" gives "param:room", "/files/*" gives "param:*".
//
// Echo cannot list the values middleware stored with c.Set, so they cannot
// be copied wholesale. During CheckOrigin the live *echo.Context is
// returned by Context(r); copy what the connection needs into r.Storage:
//
//	CheckOrigin: func(r *gws.Request) bool {
//		user, ok := gwsechov5.Context(r).Get("user").(string)
//		r.Storage.Put("user", user)
//		return ok
//	},
//
// Values of the request's context (c.Request().Context()) are reachable
// through socket.Context, which core derives from it without its
// cancellation.
//
// # HTTP/2
//
// With GODEBUG=http2xconnect=1, browsers open WebSockets as HTTP/2 streams
// (RFC 8441): CONNECT requests, which Echo routes by method before the
// adapter runs. Middleware mounted with Use takes them unchanged; Handler
// needs a route that accepts CONNECT as well as GET
// (e.Match([]string{"GET", "CONNECT"}, path, ...)). Over HTTP/2 the
// handshake is answered 200, recorded as such, and the handler returns
// only once the connection has ended: net/http ends the stream when it
// returns.
//
// A middleware that wraps the response writer in one that can neither
// hijack nor unwrap makes the upgrade impossible: the client gets a 500,
// and the handler returns a *gws.HandshakeError wrapping
// http.ErrNotSupported. Echo's own Gzip middleware can hijack.
package gwsechov5

import (
	"context"
	"fmt"
	"net/http"

	gws "github.com/gwsgo/gws/core"
	"github.com/labstack/echo/v5"
)

// Context returns the *echo.Context of the request r while CheckOrigin
// runs for it, and nil at any other time: Echo reuses the Context for
// other requests as soon as the handshake is over.
func Context(r *gws.Request) *echo.Context {
	c, _ := r.RouterContext.(*echo.Context)
	return c
}

// Handler returns an echo.HandlerFunc that upgrades every request. A
// rejected handshake is answered with its HTTP status and reason, and its
// error returned for Echo's logger; Echo's error handler leaves the
// response alone, since it has been written. Once the connection has been
// taken over the handler returns nil, even if writing the 101 failed.
func Handler(u *gws.Upgrader, h gws.EventHandler) echo.HandlerFunc {
	return func(c *echo.Context) error {
		req := gws.NewRequest(c.Request())
		for _, p := range c.PathValues() {
			req.Storage.Put(gws.ParamKey(p.Name), p.Value)
		}
		err := upgrade(u, c, req, h)
		res, _ := echo.UnwrapResponse(c.Response())
		switch {
		case res == nil:
			// A writer that hides Echo's Response, from Echo's own error
			// handler as well: nothing to mark.
			return wrapError(c, err)
		case err == nil && c.Request().ProtoMajor == 1:
			res.Status = http.StatusSwitchingProtocols
		case res.Committed:
			// Answered over HTTP; Echo's error handler sees Committed
			// and only logs.
			return wrapError(c, err)
		}
		// The connection has left net/http, upgraded or lost while the
		// 101 was written: Committed keeps Echo from writing on it.
		res.Committed = true
		return nil
	}
}

// wrapError names the request in a failed upgrade's error, for Echo's
// logger; it returns nil for nil.
func wrapError(c *echo.Context, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("gwsechov5: upgrading %s: %w", c.Request().URL.Path, err)
}

// upgrade runs the handshake with c reachable through Context.
func upgrade(u *gws.Upgrader, c *echo.Context, req *gws.Request, h gws.EventHandler) error {
	req.RouterContext = c
	defer func() { req.RouterContext = nil }()
	_, err := u.UpgradeRequest(context.Background(), c.Response(), req, h)
	return err
}

// Middleware returns an echo.MiddlewareFunc that upgrades WebSocket
// requests, as Handler does, and passes every other request on to next.
func Middleware(u *gws.Upgrader, h gws.EventHandler) echo.MiddlewareFunc {
	ws := Handler(u, h)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if gws.IsUpgrade(c.Request()) {
				return ws(c)
			}
			return next(c)
		}
	}
}
