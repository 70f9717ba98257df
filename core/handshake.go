package gws

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
)

// Request is an opening handshake on its way to becoming a Conn. It embeds
// the HTTP request (adapters for routers that are not net/http convert
// theirs once) and carries the Storage that becomes the connection's.
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

// ParamKey returns the Storage key under which adapters put the route
// parameter name (":id" in "/rooms/:id" is ParamKey("id")).
func ParamKey(name string) string { return "param:" + name }

// NewRequest wraps r with an empty Storage.
func NewRequest(r *http.Request) *Request {
	return &Request{Request: r, Storage: NewStorage()}
}

// Sentinel causes of a rejected handshake, wrapped by HandshakeError.
var (
	ErrMethod      = errors.New("gws: handshake method is not GET")
	ErrHTTPVersion = errors.New("gws: handshake needs HTTP/1.1")
	ErrNotUpgrade  = errors.New("gws: request is not a WebSocket upgrade")
	ErrVersion     = errors.New("gws: unsupported Sec-WebSocket-Version")
	ErrKey         = errors.New("gws: bad Sec-WebSocket-Key")
	ErrOrigin      = errors.New("gws: origin not allowed")
	ErrHeader      = errors.New("gws: invalid response header")
)

// HandshakeError says why a request was not upgraded and how to answer it:
// an HTTP status, a one-line reason for the body, and any headers the answer
// needs (Sec-WebSocket-Version on 426).
type HandshakeError struct {
	Status int
	Reason string
	Header http.Header
	Err    error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("gws: handshake rejected (%d): %s", e.Status, e.Reason)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// ResponseHeader returns the headers of the answer to the rejected request:
// e.Header and those of a plain-text body.
func (e *HandshakeError) ResponseHeader() http.Header {
	h := http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}
	for k, v := range e.Header {
		h[k] = v
	}
	return h
}

// Body returns the body of the answer to the rejected request: the reason,
// on one line.
func (e *HandshakeError) Body() []byte { return []byte(e.Reason + "\n") }

// WriteResponse answers the rejected request on w with e's status, headers
// and reason, for adapters built on net/http.
func (e *HandshakeError) WriteResponse(w http.ResponseWriter) {
	for k, v := range e.ResponseHeader() {
		w.Header()[k] = v
	}
	w.WriteHeader(e.Status)
	w.Write(e.Body())
}

func reject(status int, err error, reason string) *HandshakeError {
	return &HandshakeError{Status: status, Reason: reason, Err: err}
}

// IsUpgrade reports whether r asks for a WebSocket upgrade, by its Upgrade
// and Connection headers alone. Middleware uses it to let other requests
// through untouched.
func IsUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// Response is the accepted handshake: the headers of the 101 response and
// what was negotiated.
type Response struct {
	// Header holds every header of the 101 response, Upgrade and Connection
	// included.
	Header http.Header

	// SubProtocol is the negotiated subprotocol, or "".
	SubProtocol string

	deflate *deflateParams // nil unless permessage-deflate was agreed
}

// WriteTo writes the 101 status line and headers to w, for adapters that
// write the response on the hijacked connection themselves.
func (r *Response) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	if err := r.Header.Write(&b); err != nil {
		return 0, fmt.Errorf("gws: writing handshake response: %w", err)
	}
	b.WriteString("\r\n")
	return b.WriteTo(w)
}

// acceptGUID is the fixed string RFC 6455 §1.3 appends to the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a client key.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Negotiate checks r as a WebSocket opening handshake (RFC 6455 §4.2.1),
// runs CheckOrigin, chooses the subprotocol and returns the response to send.
// A rejected request gets a *HandshakeError saying how to answer it. It
// neither reads nor writes the connection, so every adapter can call it
// before hijacking and answer a rejection as an ordinary HTTP response.
func (u *Upgrader) Negotiate(r *Request) (*Response, error) {
	resp, err := u.negotiate(r)
	if err != nil && u.options().LogEnabled {
		u.options().Logger.Info("gws: handshake rejected", "remote", r.RemoteAddr, "uri", r.RequestURI, "err", err)
	}
	return resp, err
}

func (u *Upgrader) negotiate(r *Request) (*Response, error) {
	opts := u.options()
	u.mu.Lock()
	closing := u.closing
	u.mu.Unlock()
	if closing {
		return nil, reject(http.StatusServiceUnavailable, ErrShuttingDown, "websocket: server shutting down")
	}
	if r.Storage == nil {
		r.Storage = NewStorage()
	}
	if r.Method != http.MethodGet {
		e := reject(http.StatusMethodNotAllowed, ErrMethod, "websocket: method must be GET")
		e.Header = http.Header{"Allow": {"GET"}}
		return nil, e
	}
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return nil, reject(http.StatusBadRequest, ErrHTTPVersion, "websocket: HTTP/1.1 required")
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return nil, reject(http.StatusBadRequest, ErrNotUpgrade, "websocket: 'Connection' header does not contain 'upgrade'")
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		return nil, reject(http.StatusBadRequest, ErrNotUpgrade, "websocket: 'Upgrade' header does not contain 'websocket'")
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		e := reject(http.StatusUpgradeRequired, ErrVersion, "websocket: 'Sec-WebSocket-Version' must be 13")
		e.Header = http.Header{"Sec-Websocket-Version": {"13"}}
		return nil, e
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 || !validKey(strings.TrimSpace(keys[0])) {
		return nil, reject(http.StatusBadRequest, ErrKey, "websocket: 'Sec-WebSocket-Key' must be 16 bytes in base64")
	}
	check := u.CheckOrigin
	if check == nil {
		check = SameOrigin
	}
	if !check(r) {
		return nil, reject(http.StatusForbidden, ErrOrigin, "websocket: request origin not allowed")
	}

	h := make(http.Header, 4+len(opts.ResponseHeader))
	for k, vs := range opts.ResponseHeader {
		if !validHeaderField(k, vs) {
			return nil, reject(http.StatusInternalServerError, ErrHeader, "websocket: invalid response header configured")
		}
		h[http.CanonicalHeaderKey(k)] = vs
	}
	h["Upgrade"] = []string{"websocket"}
	h["Connection"] = []string{"Upgrade"}
	h["Sec-Websocket-Accept"] = []string{AcceptKey(strings.TrimSpace(keys[0]))}
	resp := &Response{Header: h}
	if p := chooseSubProtocol(opts.SubProtocols, r.Header); p != "" {
		resp.SubProtocol = p
		h["Sec-Websocket-Protocol"] = []string{p}
	}
	if opts.CompressEnabled {
		if p, answer, ok := negotiateDeflate(r.Header, opts); ok {
			resp.deflate = &p
			h["Sec-Websocket-Extensions"] = []string{answer}
		}
	}
	return resp, nil
}

func validKey(k string) bool {
	if len(k) != 24 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(b) == 16
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

// headerTokens yields the comma-separated tokens of every value of header
// name, trimmed of white space (RFC 7230 §7 lists).
func headerTokens(h http.Header, name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, v := range h.Values(name) {
			for v != "" {
				var t string
				t, v, _ = strings.Cut(v, ",")
				if !yield(strings.TrimSpace(t)) {
					return
				}
			}
		}
	}
}

// headerHasToken reports whether header name lists token, compared
// case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for t := range headerTokens(h, name) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

func chooseSubProtocol(server []string, h http.Header) string {
	for _, want := range server {
		for t := range headerTokens(h, "Sec-WebSocket-Protocol") {
			if t == want {
				return want
			}
		}
	}
	return ""
}

// validHeaderField refuses names and values that would let configuration
// inject lines into the response.
func validHeaderField(name string, values []string) bool {
	if name == "" || strings.ContainsAny(name, "\r\n: \t") {
		return false
	}
	for _, v := range values {
		if strings.ContainsAny(v, "\r\n") {
			return false
		}
	}
	return true
}
