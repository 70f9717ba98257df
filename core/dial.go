package gws

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultDialTimeout bounds a whole Dial (TCP, proxy, TLS and the HTTP
// exchange) when ClientOptions.HandshakeTimeout is zero.
const DefaultDialTimeout = 30 * time.Second

// maxResponseHead bounds the status line and headers of the server's
// answer, so that a hostile server cannot feed Dial headers until memory
// runs out.
const maxResponseHead = 1 << 20

// ClientOptions configures Dial and the connection it makes. Every field's
// zero value means the default given in its comment, so a nil
// *ClientOptions is a safe, standard configuration.
type ClientOptions struct {
	// Header holds extra headers for the opening handshake request, such as
	// Origin, Authorization or Cookie. A Host entry replaces the host the
	// request is sent with. The headers Dial writes itself (Upgrade,
	// Connection and the Sec-WebSocket-* headers) are refused.
	Header http.Header

	// SubProtocols lists the subprotocols to offer, in order of preference.
	// The server picks at most one; Conn.SubProtocol reports it.
	SubProtocols []string

	// TLSConfig configures TLS for wss:// URLs and for https:// proxies;
	// nil means the zero tls.Config. Its ServerName defaults to the URL's
	// host, and its NextProtos is always "http/1.1", the only protocol
	// WebSocket runs over.
	TLSConfig *tls.Config

	// Proxy returns the proxy for a request, or nil for none, as
	// http.Transport.Proxy does; it sees the request with an http or https
	// URL. nil means http.ProxyFromEnvironment (HTTP_PROXY, HTTPS_PROXY and
	// NO_PROXY, which never proxy loopback addresses). Proxies with an http
	// or https URL are supported, through CONNECT; credentials in the URL
	// are sent as Basic authorization.
	Proxy func(*http.Request) (*url.URL, error)

	// ProxyConnectHeader holds extra headers for the CONNECT request sent
	// to a proxy.
	ProxyConnectHeader http.Header

	// NetDial opens the transport connection to the server or to the proxy,
	// for custom transports (a Unix socket, an in-memory pipe, a dialer with
	// its own timeouts). network is "tcp" and addr is host:port. nil means
	// a net.Dialer.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// HandshakeTimeout bounds the whole of Dial when ctx has no earlier
	// deadline. Default DefaultDialTimeout (30 s); negative means ctx alone.
	HandshakeTimeout time.Duration

	// CompressEnabled offers permessage-deflate (RFC 7692), as browsers do:
	// "permessage-deflate; client_max_window_bits", plus
	// client_no_context_takeover unless ClientContextTakeover is set. The
	// server may then keep its compression context between messages, and
	// the connection keeps the window it needs to inflate them (up to
	// 32 KiB, from the first compressed message on). Off by default.
	CompressEnabled bool

	// CompressLevel is the compress/flate level, 1 (BestSpeed) to 9
	// (BestCompression); 0 means 1. When the server limits the client's
	// window below 32 KiB (client_max_window_bits < 15), gws compresses
	// with flate.HuffmanOnly, whose output fits any window.
	CompressLevel int

	// CompressThreshold is the smallest message, in bytes, that gws
	// compresses. Default 512.
	CompressThreshold int

	// ClientContextTakeover keeps the client's compression history from one
	// message to the next, when the server allows it, for a better ratio at
	// the cost of a flate writer of the connection's own (about 600 KiB).
	// Off by default: each message is compressed alone with pooled writers.
	ClientContextTakeover bool

	// ServerNoContextTakeover asks the server to compress each message alone
	// (server_no_context_takeover), which spares the connection the window
	// it would keep to inflate with; a server that refuses fails the
	// handshake. Off by default.
	ServerNoContextTakeover bool

	// LogEnabled logs connection errors through Logger. Off by default.
	LogEnabled bool

	// Logger receives the logs when LogEnabled is set; nil means
	// slog.Default().
	Logger *slog.Logger

	// ReadMaxPayloadSize is the largest message, in bytes, the server may
	// send; a larger one fails the connection with close code 1009 before
	// any of it is buffered. Default 16 MiB.
	ReadMaxPayloadSize int

	// ReadBufferSize is the size of the buffer the connection borrows from
	// the pool while bytes are arriving. Default 4 KiB.
	ReadBufferSize int

	// WriteTimeout bounds every frame write; a write that times out fails
	// the connection. Default 10 s; negative means no limit.
	WriteTimeout time.Duration

	// CloseTimeout is how long to wait for the server's answer after
	// sending a close frame before dropping the TCP connection. Default 5 s.
	CloseTimeout time.Duration

	// PingInterval turns on the heartbeat: gws pings the server this often
	// and drops the connection if it has sent nothing (no pong, no message)
	// for PingTimeout after a ping. 0 (the default) leaves heartbeats to the
	// application.
	PingInterval time.Duration

	// PingTimeout is how long after a ping a silent server is dropped.
	// Default: PingInterval.
	PingTimeout time.Duration

	// SkipUTF8Validation turns off the check that text messages and close
	// reasons are valid UTF-8. The check is on by default, as RFC 6455
	// requires.
	SkipUTF8Validation bool
}

func (o *ClientOptions) withDefaults() *ClientOptions {
	var c ClientOptions
	if o != nil {
		c = *o
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultDialTimeout
	}
	if c.Proxy == nil {
		c.Proxy = http.ProxyFromEnvironment
	}
	if c.NetDial == nil {
		var d net.Dialer
		c.NetDial = d.DialContext
	}
	return &c
}

// serverOptions carries the settings a Conn reads, which are shared with
// the server side.
func (o *ClientOptions) serverOptions() *ServerOptions {
	return &ServerOptions{
		LogEnabled:         o.LogEnabled,
		CompressEnabled:    o.CompressEnabled,
		CompressLevel:      o.CompressLevel,
		CompressThreshold:  o.CompressThreshold,
		Logger:             o.Logger,
		ReadMaxPayloadSize: o.ReadMaxPayloadSize,
		ReadBufferSize:     o.ReadBufferSize,
		WriteTimeout:       o.WriteTimeout,
		CloseTimeout:       o.CloseTimeout,
		SkipUTF8Validation: o.SkipUTF8Validation,
		PingInterval:       o.PingInterval,
		PingTimeout:        o.PingTimeout,
	}
}

// ErrBadURL is returned by Dial for a URL it cannot dial.
var ErrBadURL = errors.New("gws: bad WebSocket URL")

// Dial opens a WebSocket connection to url (ws:// or wss://; http:// and
// https:// are taken to mean the same) and returns it with the server's
// handshake response. The connection's events go to h once the caller runs
// c.ReadLoop, on the goroutine of its choice, exactly as on the server
// side; until then no frame is read, so pings go unanswered.
//
// ctx bounds the handshake only: cancelling it after Dial has returned
// does not end the connection, whose Context keeps ctx's values. A nil
// opts means the defaults documented on ClientOptions.
//
// When the server answers but refuses or botches the handshake, the error
// wraps a *DialError and the response is returned too, its Body holding
// the first bytes of the body. Other failures (DNS, TCP, proxy, TLS, a
// timeout) return a nil response.
func Dial(ctx context.Context, rawURL string, h EventHandler, opts *ClientOptions) (*Conn, *http.Response, error) {
	o := opts.withDefaults()
	u, err := parseWebSocketURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) error { return fmt.Errorf("gws: dial %s: %w", u.Redacted(), err) }
	if o.HandshakeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.HandshakeTimeout)
		defer cancel()
	}
	req, key, err := newHandshakeRequest(ctx, u, o)
	if err != nil {
		return nil, nil, fail(err)
	}
	nc, resp, deflate, buffered, err := o.handshake(ctx, req, key)
	if err != nil {
		return nil, resp, fail(err)
	}
	up := &Upgrader{ServerOptions: o.serverOptions()}
	agreed := &Response{
		Header:      resp.Header,
		SubProtocol: strings.TrimSpace(resp.Header.Get("Sec-WebSocket-Protocol")),
		deflate:     deflate,
	}
	c := up.newConn(nc, buffered, &Request{Request: req, Storage: NewStorage()}, agreed, h, false)
	up.track(c)
	return c, resp, nil
}

// parseWebSocketURL checks that rawURL can be dialled and returns it with
// a ws or wss scheme.
func parseWebSocketURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("%w %q: scheme must be ws or wss", ErrBadURL, u.Redacted())
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w %q: no host", ErrBadURL, u.Redacted())
	}
	// RFC 6455 §3: fragments have no meaning in WebSocket URIs.
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// hostPort returns u's host with the default port of its scheme if it has
// none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "wss" || u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// reservedRequestHeaders are written by Dial itself.
var reservedRequestHeaders = []string{
	"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version",
	"Sec-Websocket-Protocol", "Sec-Websocket-Extensions",
}

// newHandshakeRequest builds the opening handshake (RFC 6455 §4.1) with a
// fresh key. Its URL has an http or https scheme, as proxy functions
// expect.
func newHandshakeRequest(ctx context.Context, u *url.URL, o *ClientOptions) (*http.Request, string, error) {
	hu := *u
	hu.Scheme = "http"
	if u.Scheme == "wss" {
		hu.Scheme = "https"
	}
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &hu,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 6+len(o.Header)),
		Host:       u.Host,
	}
	req = req.WithContext(ctx)
	for k, vs := range o.Header {
		ck := http.CanonicalHeaderKey(k)
		for _, r := range reservedRequestHeaders {
			if ck == r {
				return nil, "", fmt.Errorf("header %s is set by Dial; use ClientOptions.SubProtocols for subprotocols", k)
			}
		}
		if !validHeaderField(k, vs) {
			return nil, "", fmt.Errorf("invalid request header %q", k)
		}
		if ck == "Host" {
			if len(vs) > 0 {
				req.Host = vs[0]
			}
			continue
		}
		req.Header[ck] = vs
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req.Header["Upgrade"] = []string{"websocket"}
	req.Header["Connection"] = []string{"Upgrade"}
	req.Header["Sec-Websocket-Key"] = []string{key}
	req.Header["Sec-Websocket-Version"] = []string{"13"}
	if o.CompressEnabled {
		req.Header["Sec-Websocket-Extensions"] = []string{o.deflateOffer()}
	}
	if len(o.SubProtocols) > 0 {
		for _, p := range o.SubProtocols {
			if !isToken(p) {
				return nil, "", fmt.Errorf("subprotocol %q is not an HTTP token", p)
			}
		}
		req.Header["Sec-Websocket-Protocol"] = []string{strings.Join(o.SubProtocols, ", ")}
	}
	return req, key, nil
}

// isToken reports whether s is an RFC 7230 token, as subprotocol names must
// be (RFC 6455 §4.1).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// handshake connects (through a proxy and TLS as needed), performs the
// opening handshake and returns the connection, the response and the bytes
// read past the response. ctx bounds it all. On a refused handshake the
// response is returned with the error.
func (o *ClientOptions) handshake(ctx context.Context, req *http.Request, key string) (net.Conn, *http.Response, *deflateParams, []byte, error) {
	proxyURL, err := o.Proxy(req)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("choosing proxy: %w", err)
	}
	target := hostPort(req.URL)
	addr := target
	if proxyURL != nil {
		if addr, err = proxyAddr(proxyURL); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	raw, err := o.NetDial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// The deadline is set when ctx ends rather than from ctx.Deadline, so
	// that a timed-out read always finds ctx done and reports ctx's error.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	nc, resp, deflate, buffered, err := o.exchange(ctx, raw, proxyURL, target, req, key)
	if !stop() {
		// The context ended first; whatever failed, it is the reason.
		err = fmt.Errorf("handshake: %w", context.Cause(ctx))
	}
	if err == nil {
		err = raw.SetDeadline(time.Time{})
	}
	if err != nil {
		raw.Close()
		return nil, resp, nil, nil, err
	}
	return nc, resp, deflate, buffered, nil
}

// exchange does the work of handshake on the transport connection raw.
func (o *ClientOptions) exchange(ctx context.Context, raw net.Conn, proxyURL *url.URL, target string, req *http.Request, key string) (net.Conn, *http.Response, *deflateParams, []byte, error) {
	nc := raw
	var err error
	if proxyURL != nil {
		if nc, err = o.connectProxy(ctx, nc, proxyURL, target); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if req.URL.Scheme == "https" {
		tc := tls.Client(nc, o.tlsConfig(req.URL.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
	}
	if err := writeRequest(nc, req); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("writing handshake request: %w", err)
	}
	br := bufio.NewReader(&io.LimitedReader{R: nc, N: maxResponseHead})
	resp, deflate, err := readHandshakeResponse(br, req, key, o)
	if err != nil {
		return nil, resp, nil, nil, err
	}
	buffered, _ := br.Peek(br.Buffered())
	return nc, resp, deflate, buffered, nil
}

// tlsConfig returns the TLS configuration for a connection to host.
func (o *ClientOptions) tlsConfig(host string) *tls.Config {
	var cfg *tls.Config
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	// A server offered h2 by ALPN would pick it, and WebSocket over HTTP/2
	// (RFC 8441) is another protocol.
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// writeRequest writes the handshake request in one write: the headers
// Dial owns first, in the casing of RFC 6455, then the caller's.
func writeRequest(w io.Writer, req *http.Request) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", req.URL.RequestURI(), req.Host)
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", req.Header.Get("Sec-WebSocket-Key"))
	for _, name := range []string{"Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"} {
		if v := req.Header.Get(name); v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	var rest http.Header
	for k, vs := range req.Header {
		if !isReservedRequestHeader(k) {
			if rest == nil {
				rest = make(http.Header, len(req.Header))
			}
			rest[k] = vs
		}
	}
	if err := rest.Write(&b); err != nil {
		return err
	}
	b.WriteString("\r\n")
	_, err := b.WriteTo(w)
	return err
}

func isReservedRequestHeader(k string) bool {
	for _, r := range reservedRequestHeaders {
		if k == r {
			return true
		}
	}
	return false
}
