package gws

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gwsgo/gws/core/internal/bufpool"
)

// Request is an opening handshake on its way to becoming a Conn. It embeds
// the HTTP request (adapters for routers that are not net/http convert
// theirs once) and carries the values CheckOrigin puts in its Storage,
// which move to the connection's Storage when the connection is made.
type Request struct {
	*http.Request
	Storage *Storage

	// RouterContext is the router's own context for the request (a
	// *gin.Context, an echo.Context, a *fiber.Ctx, a *fasthttp.RequestCtx)
	// while the handshake runs, set by the router's adapter so CheckOrigin
	// can read what earlier middleware attached. Routers reuse these
	// contexts once the handler returns: copy what the connection needs
	// into Storage, never keep RouterContext itself.
	RouterContext any
}

// NewRequest wraps r with an empty Storage, for adapters that add router
// values to it before UpgradeRequest or Negotiate.
func NewRequest(r *http.Request) *Request {
	// One allocation for both: the Storage outlives the handshake only
	// through its values, which newConn moves into the Conn's own.
	x := &struct {
		Request
		s Storage
	}{Request: Request{Request: r}}
	x.Storage = &x.s
	return &x.Request
}

// ParamKey returns the Storage key under which adapters put the route
// parameter name (":id" in "/rooms/:id" is ParamKey("id")).
func ParamKey(name string) string { return "param:" + name }

// IsUpgrade reports whether r asks for a WebSocket: an HTTP/1.1 upgrade,
// by its Upgrade and Connection headers alone, or an HTTP/2 extended
// CONNECT with the :protocol websocket (RFC 8441). Middleware uses it to
// let other requests through untouched.
func IsUpgrade(r *http.Request) bool {
	if r.ProtoMajor == 2 {
		return isExtendedConnect(r)
	}
	return headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// SameOrigin is the default CheckOrigin: browsers always send Origin, so a
// request without one comes from a non-browser client and is let through; a
// browser's must name the host the request was sent to. A CheckOrigin of
// your own can call it before looking at the request further.
func SameOrigin(r *Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// Response is an accepted handshake, from Negotiate, for Accept to
// complete: what was negotiated, and the 101 response Accept writes (or,
// over an HTTP/2 stream, the 200 Upgrade answers).
type Response struct {
	// SubProtocol is the negotiated subprotocol, or "".
	SubProtocol string

	req       *Request
	accept    [28]byte       // Sec-WebSocket-Accept
	extension string         // the Sec-WebSocket-Extensions answer, or ""
	deflate   *deflateParams // nil unless permessage-deflate was agreed
	extra     string         // ServerOptions.ResponseHeader, as header lines
	stream    bool           // an HTTP/2 stream (RFC 8441): answered 200 through the ResponseWriter
}

// Upgrade upgrades an HTTP request to a WebSocket connection and starts
// delivering its events to h on a goroutine of its own, so the HTTP handler
// may return at once and net/http frees its request state. The request is
// checked before the connection is taken over: a rejected handshake is
// answered as an ordinary HTTP response (400, 403, 405, 426 or 503 with a
// one-line reason; 500 when the ResponseWriter cannot hand its connection
// over) and returned as a *HandshakeError.
//
// ctx bounds the connection's life: when it is cancelled the connection is
// closed with 1001 (going away). Pass context.Background() or a context of
// the server's own, never r.Context(), which net/http cancels as soon as
// the handler returns. The connection's Context carries r.Context()'s
// values (trace spans, authentication) without its cancellation.
//
// Over HTTP/2, a WebSocket is a stream opened by an extended CONNECT (RFC
// 8441), which net/http accepts when GODEBUG=http2xconnect=1 is in the
// server's environment. A stream cannot be taken over, and net/http ends
// it when the handler returns: Upgrade answers 200, runs the connection's
// events on the calling goroutine and returns only once the connection has
// ended (get hold of the Conn in OnOpen). The connection reads the request
// body and writes w, flushed per frame; everything else is as over
// HTTP/1.1. A closing handshake ends the stream with END_STREAM, a dropped
// connection resets it. An HTTP/2 request that is not an extended CONNECT
// is refused with 400.
func (u *Upgrader) Upgrade(ctx context.Context, w http.ResponseWriter, r *http.Request, h EventHandler) (*Conn, error) {
	return u.UpgradeRequest(ctx, w, NewRequest(r), h)
}

// UpgradeRequest is Upgrade for a Request the caller has prepared, for
// router adapters that put router values in its Storage and set its
// RouterContext before CheckOrigin runs.
func (u *Upgrader) UpgradeRequest(ctx context.Context, w http.ResponseWriter, r *Request, h EventHandler) (*Conn, error) {
	var resp Response
	if err := u.negotiateLogged(r, &resp); err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			he.writeResponse(w)
		}
		return nil, err
	}
	if resp.stream {
		return u.serveStream(ctx, w, &resp, h)
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Wrapped writers without Unwrap, HTTP/2 streams, or a header
		// already sent.
		he := reject(http.StatusInternalServerError, fmt.Errorf("taking over the connection: %w", err), "websocket: the server cannot hand over this connection")
		he.writeResponse(w)
		u.rejected(r, he)
		return nil, he
	}
	var buffered []byte
	if n := brw.Reader.Buffered(); n > 0 {
		// The client may send its first frame right behind the handshake;
		// those bytes are already in net/http's reader.
		buffered, _ = brw.Reader.Peek(n)
	}
	return u.Accept(ctx, nc, buffered, &resp, h)
}

// Negotiate checks r as a WebSocket opening handshake (RFC 6455 §4.2.1,
// or RFC 8441 §5 for an HTTP/2 extended CONNECT),
// runs CheckOrigin, chooses the subprotocol and permessage-deflate, and
// returns the response to send. A rejected request gets a *HandshakeError
// saying how to answer it. Negotiate neither reads nor writes the
// connection, so an adapter for a server other than net/http calls it
// before taking the connection over, answers a rejection as an ordinary
// HTTP response, and completes an acceptance with Accept.
func (u *Upgrader) Negotiate(r *Request) (*Response, error) {
	resp := new(Response)
	if err := u.negotiateLogged(r, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// negotiateLogged is negotiate, logging a rejection.
func (u *Upgrader) negotiateLogged(r *Request, resp *Response) error {
	err := u.negotiate(r, resp)
	if err != nil {
		u.rejected(r, err)
	}
	return err
}

// rejected counts and logs a refused handshake.
func (u *Upgrader) rejected(r *Request, err error) {
	if he, ok := err.(*HandshakeError); ok {
		u.group().refuse(he.StatusCode)
	}
	if l := u.group().cfg.logger; l != nil {
		l.Info("gws: handshake rejected", "remote", r.RemoteAddr, "uri", r.RequestURI, "err", err)
	}
}

// Sentinel causes of a rejected handshake, for the log and errors.Is within
// the package's tests; callers branch on HandshakeError.StatusCode.
var (
	errMethod      = errors.New("handshake method is not GET")
	errHTTPVersion = errors.New("handshake needs HTTP/1.1")
	errNotUpgrade  = errors.New("request is not a WebSocket upgrade")
	errVersion     = errors.New("unsupported Sec-WebSocket-Version")
	errKey         = errors.New("bad Sec-WebSocket-Key")
	errOrigin      = errors.New("origin not allowed")
	errHeader      = errors.New("invalid response header configured")
	errShutdown    = errors.New("server shutting down")
)

// checkUpgradeRequest checks what an HTTP/1.1 upgrade must carry (RFC
// 6455 §4.2.1) beyond the version and key.
func checkUpgradeRequest(r *http.Request) error {
	if r.Method != http.MethodGet {
		e := reject(http.StatusMethodNotAllowed, errMethod, "websocket: method must be GET")
		e.Header.Set("Allow", "GET")
		return e
	}
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return reject(http.StatusBadRequest, errHTTPVersion, "websocket: HTTP/1.1 required")
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return reject(http.StatusBadRequest, errNotUpgrade, "websocket: 'Connection' header does not contain 'upgrade'")
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		return reject(http.StatusBadRequest, errNotUpgrade, "websocket: 'Upgrade' header does not contain 'websocket'")
	}
	return nil
}

// negotiate fills resp with the answer to r, or returns why r is refused.
func (u *Upgrader) negotiate(r *Request, resp *Response) error {
	g := u.group()
	g.mu.Lock()
	closing := g.closing
	g.mu.Unlock()
	if closing {
		return reject(http.StatusServiceUnavailable, errShutdown, "websocket: server shutting down")
	}
	if r.Storage == nil {
		r.Storage = new(Storage)
	}
	stream := r.ProtoMajor == 2
	if stream {
		if err := checkStreamRequest(r.Request); err != nil {
			return err
		}
	} else if err := checkUpgradeRequest(r.Request); err != nil {
		return err
	}
	// Header names in the canonical form http.Header keeps them in (not
	// RFC 6455's "WebSocket"), which finds them without allocating.
	if v := r.Header["Sec-Websocket-Version"]; len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		e := reject(http.StatusUpgradeRequired, errVersion, "websocket: 'Sec-WebSocket-Version' must be 13")
		e.Header.Set("Sec-WebSocket-Version", "13")
		return e
	}
	keys := r.Header["Sec-Websocket-Key"]
	if !stream && (len(keys) != 1 || !validKey(strings.TrimSpace(keys[0]))) {
		return reject(http.StatusBadRequest, errKey, "websocket: 'Sec-WebSocket-Key' must be 16 bytes in base64")
	}
	check := u.CheckOrigin
	if check == nil {
		check = SameOrigin
	}
	if !check(r) {
		return reject(http.StatusForbidden, errOrigin, "websocket: request origin not allowed")
	}

	cfg := g.cfg
	if cfg.responseHeaderErr {
		return reject(http.StatusInternalServerError, errHeader, "websocket: invalid response header configured")
	}
	*resp = Response{req: r, extra: cfg.responseHeader, stream: stream}
	if !stream {
		resp.accept = acceptValue(strings.TrimSpace(keys[0]))
	}
	resp.SubProtocol = chooseSubProtocol(cfg.subProtocols, r.Header)
	if cfg.compress {
		if p, answer, ok := negotiateDeflate(r.Header, cfg); ok {
			resp.deflate, resp.extension = &p, answer
		}
	}
	return nil
}

// Accept completes a handshake Negotiate accepted, on the connection nc
// taken over from the HTTP server (hijacked): it writes the 101 response
// within WriteTimeout and starts delivering the connection's events to h on
// a goroutine of its own. buffered holds any bytes the server had read past
// the request; they are read before nc. ctx bounds the connection's life
// as in Upgrade. On error nc is closed.
func (u *Upgrader) Accept(ctx context.Context, nc net.Conn, buffered []byte, resp *Response, h EventHandler) (*Conn, error) {
	if resp.stream {
		nc.Close()
		return nil, errors.New("gws: Accept: the handshake came as an HTTP/2 stream, which only Upgrade and UpgradeRequest can serve")
	}
	c, err := u.accept(nc, buffered, resp, h, resp.write101)
	if err != nil {
		return nil, err
	}
	c.start(ctx)
	return c, nil
}

// accept builds and tracks the connection once writeHead has sent the
// handshake response on it; the caller starts it.
func (u *Upgrader) accept(nc net.Conn, buffered []byte, resp *Response, h EventHandler, writeHead func(c *Conn) error) (*Conn, error) {
	g := u.group()
	c := newConn(g, nc, buffered, resp.req, resp, h, true)
	// The connection is counted before the client can see the 101, so a
	// Shutdown that starts meanwhile finds it; the write lock keeps any
	// frame queued for it (a ping, Shutdown's close) behind the 101.
	c.wmu.Lock()
	g.track(c)
	if err := writeHead(c); err != nil {
		c.closeSent = true
		c.wmu.Unlock()
		c.nc.Close()
		c.abandonPolled()
		c.releaseBuffer()
		c.ctx.end()
		g.untrack(c)
		return nil, fmt.Errorf("gws: writing handshake response: %w", err)
	}
	c.wmu.Unlock()
	return c, nil
}

// write101 writes the 101 response on c, as every frame: straight to the
// socket, which a new connection's always takes at once, and WriteTimeout
// only if it does not.
func (r *Response) write101(c *Conn) error {
	buf := bufpool.Get(256 + len(r.extra))
	*buf = r.appendTo((*buf)[:0])
	err := c.writeOut(*buf)
	bufpool.Put(buf)
	return err
}

// appendTo appends the 101 status line and headers to b.
func (r *Response) appendTo(b []byte) []byte {
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, r.accept[:]...)
	if r.SubProtocol != "" {
		b = append(append(b, "\r\nSec-WebSocket-Protocol: "...), r.SubProtocol...)
	}
	if r.extension != "" {
		b = append(append(b, "\r\nSec-WebSocket-Extensions: "...), r.extension...)
	}
	return append(append(append(b, "\r\n"...), r.extra...), "\r\n"...)
}

func validKey(k string) bool {
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(k))
	return len(k) == 24 && err == nil && n == 16
}

func chooseSubProtocol(server []string, h http.Header) string {
	for _, want := range server {
		for t := range headerTokens(h, "Sec-Websocket-Protocol") {
			if t == want {
				return want
			}
		}
	}
	return ""
}
