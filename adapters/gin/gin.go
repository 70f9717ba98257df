// Package gwsgin mounts gws on Gin.
//
//	upgrader := &gws.Upgrader{}
//	router.GET("/ws", gwsgin.Handler(upgrader, handler))
//
// Handler serves a route with WebSockets only; Middleware upgrades WebSocket
// requests and passes every other request on with c.Next, so a page and its
// socket can share a path. Both call gws.Upgrader.UpgradeRequest, as on
// net/http: core checks the request before the connection is taken over,
// so a rejected handshake is an ordinary HTTP response, and the 101 is
// written on the hijacked connection, never through Gin's writer (Gin 1.11
// refuses to hijack once a header was written). If an earlier handler has
// written the response header, the upgrade fails with an error saying so.
// The connection's events run on a goroutine of their own and the handler
// returns at once.
//
// # HTTP/2
//
// With GODEBUG=http2xconnect=1, browsers open WebSockets as HTTP/2 streams
// (RFC 8441): CONNECT requests, which Gin routes by method before the
// adapter runs. Middleware mounted with Use takes them unchanged; Handler
// needs a route that accepts CONNECT as well as GET
// (router.Match([]string{"GET", "CONNECT"}, path, ...)). Over HTTP/2 the
// handshake is answered 200, logged as such, and the handler returns only
// once the connection has ended: net/http ends the stream when it returns.
//
// # Router values
//
// Gin recycles its Context once the handler returns, so nothing of it is
// kept. At upgrade time, before CheckOrigin runs, the adapter copies into
// the request's Storage, which becomes the connection's:
//   - every c.Keys value (c.Set) with a string key, under that key; other
//     key types are left out;
//   - every route parameter, under "param:" + its name, so "/rooms/:room"
//     gives "param:room" and "/files/*path" gives "param:path".
//
// Values of the request's context (c.Request.Context()) are reachable
// through socket.Context, which core derives from it without its
// cancellation.
//
// A failed upgrade is attached to the Gin context with c.Error, where the
// Logger middleware shows it, and the rest of the chain is skipped with
// c.Abort.
package gwsgin

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	gws "github.com/gwsgo/gws/core"
)

// errHeaderWritten is attached to the Gin context when an earlier handler
// has already sent the response header.
var errHeaderWritten = errors.New("gwsgin: cannot upgrade: an earlier handler wrote the response header")

// Handler returns a gin.HandlerFunc that upgrades every request and ends
// the chain. A rejected handshake is answered with its HTTP status and
// reason.
func Handler(u *gws.Upgrader, h gws.EventHandler) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer c.Abort()
		if c.Writer.Written() {
			// Gin 1.12 would still hijack, and the 101 would follow the
			// header already sent.
			_ = c.Error(errHeaderWritten)
			return
		}
		req := gws.NewRequest(c.Request)
		req.RouterContext = c
		for k, v := range c.Keys {
			if key, ok := k.(string); ok {
				req.Storage.Put(key, v)
			}
		}
		for _, p := range c.Params {
			req.Storage.Put(gws.ParamKey(p.Key), p.Value)
		}
		// Recorded, not written: Logger shows 101 for an upgrade, and a
		// rejection replaces it with its own status as it is answered.
		c.Status(http.StatusSwitchingProtocols)
		if _, err := u.UpgradeRequest(context.Background(), c.Writer, req, h); err != nil {
			_ = c.Error(err)
		}
	}
}

// Middleware returns a gin.HandlerFunc that upgrades WebSocket requests, as
// Handler does, and passes every other request on with c.Next.
func Middleware(u *gws.Upgrader, h gws.EventHandler) gin.HandlerFunc {
	ws := Handler(u, h)
	return func(c *gin.Context) {
		if gws.IsUpgrade(c.Request) {
			ws(c)
			return
		}
		c.Next()
	}
}
