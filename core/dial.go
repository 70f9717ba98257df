package gws

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseHead bounds the status line and headers of the server's
// answer, so that a hostile server cannot feed Dial headers until memory
// runs out.
const maxResponseHead = 1 << 20

// Dial opens a WebSocket connection to url (ws:// or wss://; http:// and
// https:// are taken to mean the same) and returns it with the server's
// handshake response. The connection's events go to h from a goroutine of
// their own, exactly as on the server side, starting with OnOpen.
//
// ctx bounds the handshake only: cancelling it after Dial has returned
// does not end the connection, whose Context keeps ctx's values. A nil
// opts means the defaults documented on ClientOptions.
//
// When the server answers but refuses or botches the handshake, the error
// wraps a *HandshakeError and the response is returned too, its Body
// holding the first bytes of the body. Other failures (a bad URL, DNS,
// TCP, proxy, TLS, a timeout) return a nil response.
func Dial(ctx context.Context, rawURL string, h EventHandler, opts *ClientOptions) (*Conn, *http.Response, error) {
	if opts == nil {
		opts = &ClientOptions{}
	}
	u, err := parseWebSocketURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) error { return fmt.Errorf("gws: dial %s: %w", u.Redacted(), err) }
	if t := cmp.Or(opts.HandshakeTimeout, 30*time.Second); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	g := &group{cfg: opts.config()}
	req, key, err := newHandshakeRequest(ctx, u, opts, g.cfg)
	if err != nil {
		return nil, nil, fail(err)
	}
	h2 := opts.HTTP2 && u.Scheme == "wss"
	nc, resp, deflate, buffered, err := opts.handshake(ctx, req, key, g.cfg, h2)
	if h2 && errors.Is(err, errNoExtendedConnect) {
		nc, resp, deflate, buffered, err = opts.handshake(ctx, req, key, g.cfg, false)
	}
	if err != nil {
		return nil, resp, fail(err)
	}
	agreed := &Response{
		SubProtocol: strings.TrimSpace(resp.Header.Get("Sec-WebSocket-Protocol")),
		deflate:     deflate,
	}
	c := newConn(g, nc, buffered, &Request{Request: req}, agreed, h, false)
	g.track(c)
	c.start(context.Background())
	return c, resp, nil
}

// parseWebSocketURL checks that rawURL can be dialled and returns it with
// a ws or wss scheme.
func parseWebSocketURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("gws: bad WebSocket URL: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("gws: bad WebSocket URL %q: scheme must be ws or wss", u.Redacted())
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("gws: bad WebSocket URL %q: no host", u.Redacted())
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
func newHandshakeRequest(ctx context.Context, u *url.URL, o *ClientOptions, cfg *config) (*http.Request, string, error) {
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
	if cfg.compress {
		req.Header["Sec-Websocket-Extensions"] = []string{deflateOffer(cfg)}
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

// handshake connects (through a proxy and TLS as needed), performs the
// opening handshake and returns the connection, the response and the bytes
// read past the response. ctx bounds it all. On a refused handshake the
// response is returned with the error.
func (o *ClientOptions) handshake(ctx context.Context, req *http.Request, key string, cfg *config, h2 bool) (net.Conn, *http.Response, *deflateParams, []byte, error) {
	proxy := o.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	proxyURL, err := proxy(req)
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
	dial := o.NetDial
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// The deadline is set when ctx ends rather than from ctx.Deadline, so
	// that a timed-out read always finds ctx done and reports ctx's error.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	nc, resp, deflate, buffered, err := o.exchange(ctx, raw, proxyURL, target, req, key, cfg, h2)
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

// exchange does the work of handshake on the transport connection raw;
// with h2 it offers HTTP/2 in TLS and, if the server picks it, opens an
// RFC 8441 stream.
func (o *ClientOptions) exchange(ctx context.Context, raw net.Conn, proxyURL *url.URL, target string, req *http.Request, key string, cfg *config, h2 bool) (net.Conn, *http.Response, *deflateParams, []byte, error) {
	nc := raw
	var err error
	if proxyURL != nil {
		if nc, err = o.connectProxy(ctx, nc, proxyURL, target); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if req.URL.Scheme == "https" {
		tc := tls.Client(nc, o.tlsConfig(req.URL.Hostname(), h2))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("TLS handshake: %w", err)
		}
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			sc, resp, deflate, err := openStream(ctx, tc, req, cfg)
			return sc, resp, deflate, nil, err
		}
		nc = tc
	}
	if err := writeRequest(nc, req); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("writing handshake request: %w", err)
	}
	br := bufio.NewReader(&io.LimitedReader{R: nc, N: maxResponseHead})
	resp, deflate, err := readHandshakeResponse(br, req, key, cfg)
	if err != nil {
		return nil, resp, nil, nil, err
	}
	buffered, _ := br.Peek(br.Buffered())
	return nc, resp, deflate, buffered, nil
}

// tlsConfig returns the TLS configuration for a connection to host, one
// that offers HTTP/2 with h2.
func (o *ClientOptions) tlsConfig(host string, h2 bool) *tls.Config {
	var cfg *tls.Config
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	// A server offered h2 by ALPN would pick it, and a WebSocket over
	// HTTP/2 (RFC 8441) is another handshake.
	cfg.NextProtos = []string{"http/1.1"}
	if h2 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
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
