package main

import (
	"crypto/tls"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// With -tls the echo server speaks HTTPS with HTTP/2 on a certificate it
// makes at start-up, so that both kinds of WebSocket can be tried on one
// port: HTTP/1.1 upgrades, and HTTP/2 streams (RFC 8441) when net/http's
// extended CONNECT is on (GODEBUG=http2xconnect=1). The net/http, Gin and
// Echo routers then also answer plain GETs with a page, so that a browser
// can load it and open its socket on the same connection.

// tlsListener marks a listener whose connections the routers serve with
// TLS: net/http ones with HTTP/2 (http.Server.ServeTLS), fasthttp ones
// over HTTP/1.1, which is all fasthttp speaks.
type tlsListener struct {
	net.Listener
	config *tls.Config
}

// serveHTTP serves h on ln until ln is closed: with TLS and HTTP/2 when ln
// is a tlsListener.
func serveHTTP(ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if tl, ok := ln.(*tlsListener); ok {
		srv.TLSConfig = tl.config
		srv.HTTP2 = streamWindows
		return srv.ServeTLS(tl.Listener, "", "")
	}
	return srv.Serve(ln)
}

// streamWindows keeps one WebSocket that stops reading from stalling the
// others on its HTTP/2 connection: with net/http's defaults a stream may
// hold as much unread input (1 MiB) as the whole connection may, so one
// stuck socket stops every other socket's input; with these it takes 64.
var streamWindows = &http.HTTP2Config{MaxReceiveBufferPerConnection: 16 << 20, MaxReceiveBufferPerStream: 256 << 10}

// plainOrTLS returns what a fasthttp server should serve on: ln, or for a
// tlsListener ln wrapped in TLS with HTTP/1.1 only.
func plainOrTLS(ln net.Listener) net.Listener {
	if tl, ok := ln.(*tlsListener); ok {
		cfg := tl.config.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		return tls.NewListener(tl.Listener, cfg)
	}
	return ln
}

// isTLS reports whether the routers serve ln with TLS, and so also the
// page.
func isTLS(ln net.Listener) bool {
	_, ok := ln.(*tlsListener)
	return ok
}

// page is what -tls serves to a GET that is not a WebSocket: a page from
// which a browser opens a socket to the server on the same origin.
var page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html>
<title>gws echo</title>
<body data-remote="%s">
<p>gws echo server, reached over HTTP/%d. Every WebSocket message sent to
<code>wss://%s/</code> comes back unchanged.
<pre id="log"></pre>
<script>
const log = (s) => document.getElementById("log").textContent += s + "\n";
const ws = new WebSocket("wss://" + location.host + "/");
ws.onopen = () => { log("open"); ws.send("hello"); };
ws.onmessage = (e) => log("echo: " + e.data);
ws.onclose = (e) => log("closed " + e.code);
</script>
`, html.EscapeString(r.RemoteAddr), r.ProtoMajor, html.EscapeString(r.Host))
})

// xconnectState says whether this process serves extended CONNECT:
// net/http reads GODEBUG once, at start-up.
func xconnectState() string {
	if strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		return "on (GODEBUG=http2xconnect=1)"
	}
	return "off: browsers fall back to HTTP/1.1 (set GODEBUG=http2xconnect=1 to turn them on)"
}
