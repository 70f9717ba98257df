package gws

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
)

// errProxy wraps every failure to open a tunnel through an HTTP proxy: an
// unsupported proxy URL, or a proxy that refused the CONNECT request.
var errProxy = errors.New("gws: proxy")

// proxyAddr returns the host:port to dial for the proxy at u.
func proxyAddr(u *url.URL) (string, error) {
	port := ""
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		// SOCKS and others: NetDial can supply them.
		return "", fmt.Errorf("%w %s: scheme %q not supported, only http and https", errProxy, u.Redacted(), u.Scheme)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("%w %s: no host", errProxy, u.Redacted())
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// connectProxy turns nc, a connection to the proxy at proxyURL, into a
// tunnel to target (host:port) with an HTTP CONNECT request (RFC 9110
// §9.3.6), speaking TLS to the proxy first if its URL is https.
func (o *ClientOptions) connectProxy(ctx context.Context, nc net.Conn, proxyURL *url.URL, target string) (net.Conn, error) {
	if proxyURL.Scheme == "https" {
		tc := tls.Client(nc, o.tlsConfig(proxyURL.Hostname(), false))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("%w %s: TLS handshake: %w", errProxy, proxyURL.Redacted(), err)
		}
		nc = tc
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	if u := proxyURL.User; u != nil {
		pass, _ := u.Password()
		creds := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pass))
		fmt.Fprintf(&b, "Proxy-Authorization: Basic %s\r\n", creds)
	}
	b.WriteString("\r\n")
	if _, err := b.WriteTo(nc); err != nil {
		return nil, fmt.Errorf("%w %s: writing CONNECT: %w", errProxy, proxyURL.Redacted(), err)
	}
	br := bufio.NewReader(&io.LimitedReader{R: nc, N: maxResponseHead})
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, fmt.Errorf("%w %s: reading CONNECT response: %w", errProxy, proxyURL.Redacted(), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%w %s refused CONNECT %s: %s", errProxy, proxyURL.Redacted(), target, resp.Status)
	}
	if n := br.Buffered(); n > 0 {
		// The server spoke before being spoken to; keep what it said.
		early, _ := br.Peek(n)
		return &prefixConn{Conn: nc, prefix: bytes.Clone(early)}, nil
	}
	return nc, nil
}

// prefixConn is a connection whose first reads return bytes already read
// from it.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
