// Package gwsfasthttp mounts gws on fasthttp.
//
//	upgrader := &gws.Upgrader{}
//	server := &fasthttp.Server{Handler: gwsfasthttp.Handler(upgrader, handler)}
//
// Handler serves a route with WebSockets only; Middleware upgrades WebSocket
// requests and passes every other request to the next handler, so a page
// and its socket can share a path. The request is converted to the
// *http.Request inside gws.Request once, at upgrade time; core checks it
// (Upgrader.Negotiate), and the adapter takes the connection over with
// RequestCtx.Hijack, without a response from fasthttp, and hands it to
// Upgrader.Accept, which writes the 101; bytes fasthttp had already read
// past the request are kept.
//
// # Router values
//
// fasthttp recycles the RequestCtx once the handler returns, so nothing of
// it is kept. At upgrade time every user value with a string key
// (ctx.SetUserValue, which is also where fasthttp/router puts route
// parameters and Fiber puts Locals) is copied into the request's Storage
// under the same key, before CheckOrigin runs; the Storage becomes the
// connection's. String and []byte values are copied, since they often
// point into fasthttp's reused buffers. Values under other key types are
// not copied. fasthttp closes user values that implement io.Closer when the
// request ends, which is right after the upgrade. The converted request has
// no context values of its own.
//
// # Memory per idle connection
//
// fasthttp keeps the RequestCtx and its read buffer alive for as long as a
// hijack handler runs (fasthttp issue 2363), and a connection read through
// its hijackConn cannot wait for bytes without a read buffer. When the
// hijacked connection has a file descriptor (plain TCP or Unix sockets),
// the adapter takes bytes fasthttp had buffered, duplicates the descriptor
// so that fasthttp may close its own, and returns from the hijack handler
// at once; the connection then holds no fasthttp state and no read buffer
// while idle, with or without Server.KeepHijackedConns (Conn.NetConn is
// then the adapter's net.Conn over the duplicate, not a *net.TCPConn; its
// addresses are the connection's). Other connections
// (TLS) run their events inside the hijack handler. With 2,000 idle
// connections on Linux, heap and goroutine stacks come to about 3.3 KB per
// connection, as on net/http, against 17 KB when the events run inside the
// hijack handler (README.md has the figures and how to measure them).
package gwsfasthttp

import (
	"errors"
	"net/http"

	gws "github.com/gwsgo/gws/core"
	"github.com/valyala/fasthttp"
)

// Handler returns a fasthttp.RequestHandler that upgrades every request.
// A rejected handshake is answered with its HTTP status and reason.
func Handler(u *gws.Upgrader, h gws.EventHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		req, err := NewRequest(ctx)
		if err != nil {
			reject(ctx, &gws.HandshakeError{StatusCode: fasthttp.StatusBadRequest, Reason: "websocket: malformed request", Err: err})
			return
		}
		_ = UpgradeRequest(u, ctx, req, h)
	}
}

// Middleware returns middleware that upgrades WebSocket requests, as
// Handler does, and passes every other request on to next.
func Middleware(u *gws.Upgrader, h gws.EventHandler) func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	ws := Handler(u, h)
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			if IsUpgrade(ctx) {
				ws(ctx)
				return
			}
			next(ctx)
		}
	}
}

// IsUpgrade reports whether ctx asks for a WebSocket upgrade, as
// gws.IsUpgrade does for an *http.Request. A request without an Upgrade
// header is told apart without allocating.
func IsUpgrade(ctx *fasthttp.RequestCtx) bool {
	up := ctx.Request.Header.PeekAll(fasthttp.HeaderUpgrade)
	if len(up) == 0 {
		return false
	}
	h := make(http.Header, 2)
	for _, v := range up {
		h.Add(fasthttp.HeaderUpgrade, string(v))
	}
	for _, v := range ctx.Request.Header.PeekAll(fasthttp.HeaderConnection) {
		h.Add(fasthttp.HeaderConnection, string(v))
	}
	return gws.IsUpgrade(&http.Request{Header: h})
}

// UpgradeRequest negotiates the handshake of req, a request NewRequest
// made from ctx and the caller may have added to, and on success hijacks
// the connection; once the handler has returned, the 101 is written and
// the connection's events start. A rejected handshake is answered on ctx
// (400, 403, 405, 426 or 503 with a one-line reason) and its
// *gws.HandshakeError returned.
func UpgradeRequest(u *gws.Upgrader, ctx *fasthttp.RequestCtx, req *gws.Request, h gws.EventHandler) error {
	resp, err := u.Negotiate(req)
	if err != nil {
		var he *gws.HandshakeError
		if !errors.As(err, &he) {
			he = &gws.HandshakeError{StatusCode: fasthttp.StatusInternalServerError, Reason: "websocket: handshake failed", Err: err}
		}
		reject(ctx, he)
		return err
	}
	// Accept writes the 101 on the hijacked connection, as on net/http;
	// the status recorded here is never sent, but loggers report it.
	ctx.SetStatusCode(fasthttp.StatusSwitchingProtocols)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(hijackHandler(u, resp, h))
	return nil
}

// reject answers ctx with the rejection, as core does on net/http,
// keeping the headers earlier handlers set (ctx.Error would reset the
// response).
func reject(ctx *fasthttp.RequestCtx, he *gws.HandshakeError) {
	ctx.SetStatusCode(he.StatusCode)
	for k, vs := range he.Header {
		for _, v := range vs {
			ctx.Response.Header.Add(k, v)
		}
	}
	ctx.SetBodyString(he.Reason + "\n")
}
