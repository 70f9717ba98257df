// Package gwshttp mounts gws on net/http in one line.
//
//	upgrader := &gws.Upgrader{}
//	http.Handle("/ws", gwshttp.Handler(upgrader, handler))
//
// Handler serves a route with WebSockets only; Middleware upgrades WebSocket
// requests and passes every other request to the next handler, so a page
// and its socket can share a path. Both call gws.Upgrader.Upgrade, which
// a handler of your own can call too. The request is checked before the
// connection is taken over, so a rejected handshake is an ordinary HTTP
// response and a keep-alive connection survives it.
//
// Both take WebSockets over HTTP/2 as well (RFC 8441, extended CONNECT),
// which net/http accepts with GODEBUG=http2xconnect=1 on an HTTPS server;
// such a socket arrives as a CONNECT, so mount them on a pattern without
// a method ("/ws") or on "CONNECT /ws" as well as "GET /ws". Its handler
// returns only once the connection has ended; see gws.Upgrader.Upgrade.
package gwshttp

import (
	"context"
	"net/http"

	gws "github.com/gwsgo/gws/core"
)

// Handler returns an http.Handler that upgrades every request with
// u.Upgrade. The connection's events run on a goroutine of their own, so
// the HTTP handler returns and its request state is freed while the
// connection lives on (over HTTP/2 the handler lives as long as the
// connection); the connection ends with u.Shutdown, not with the request's
// context.
func Handler(u *gws.Upgrader, h gws.EventHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.Upgrade(context.Background(), w, r, h)
	})
}

// Middleware returns middleware that upgrades WebSocket requests, as
// Handler does, and passes every other request on to next.
func Middleware(u *gws.Upgrader, h gws.EventHandler) func(http.Handler) http.Handler {
	ws := Handler(u, h)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if gws.IsUpgrade(r) {
				ws.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
