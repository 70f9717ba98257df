// Package gwshttp mounts gws on net/http.
//
//	upgrader := &gws.Upgrader{}
//	http.Handle("/ws", gwshttp.Handler(upgrader, handler))
//
// Handler serves a route with WebSockets only; Middleware upgrades WebSocket
// requests and passes every other request to the next handler, so a page
// and its socket can share a path; Upgrade works inside a handler of your
// own. The request is checked before the connection is taken over, so a
// rejected handshake is an ordinary HTTP response and a keep-alive
// connection survives it.
package gwshttp

import (
	"errors"
	"fmt"
	"net/http"

	gws "github.com/gwsgo/gws/core"
)

// ErrHijack is returned when the ResponseWriter cannot hand over its
// connection: a middleware wrapped it in a writer that has neither a Hijack
// nor an Unwrap method, or the request came over HTTP/2.
var ErrHijack = errors.New("gwshttp: cannot take over the connection from the ResponseWriter")

// Handler returns an http.Handler that upgrades every request and runs the
// connection's events on a goroutine of its own, so the HTTP handler returns
// and its request state is freed while the connection lives on.
func Handler(u *gws.Upgrader, h gws.EventHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := Upgrade(u, w, r, h); err == nil {
			go c.ReadLoop()
		}
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

// Upgrade upgrades the request to a WebSocket connection and returns it;
// the caller runs its ReadLoop. On failure it has already answered the
// request (400, 403, 405 or 426 with a one-line reason for a rejected
// handshake, 500 when the connection cannot be taken over) and returns the
// error: a *gws.HandshakeError, or one wrapping ErrHijack.
func Upgrade(u *gws.Upgrader, w http.ResponseWriter, r *http.Request, h gws.EventHandler) (*gws.Conn, error) {
	return UpgradeRequest(u, w, gws.NewRequest(r), h)
}

// UpgradeRequest is Upgrade for a gws.Request prepared by the caller, for
// adapters that put router values in its Storage before CheckOrigin runs.
func UpgradeRequest(u *gws.Upgrader, w http.ResponseWriter, req *gws.Request, h gws.EventHandler) (*gws.Conn, error) {
	resp, err := u.Negotiate(req)
	if err != nil {
		var he *gws.HandshakeError
		if errors.As(err, &he) {
			he.WriteResponse(w)
		}
		return nil, err
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrHijack, err)
		http.Error(w, "websocket: the server cannot hand over this connection", http.StatusInternalServerError)
		return nil, err
	}
	var buffered []byte
	if n := brw.Reader.Buffered(); n > 0 {
		// The client may send its first frame right behind the handshake;
		// those bytes are already in net/http's reader.
		buffered, _ = brw.Reader.Peek(n)
	}
	return u.Accept(nc, buffered, req, resp, h)
}
