package main

import (
	"crypto/tls"
	"flag"
	"log"
	"net"
	"net/http"

	"github.com/gwsgo/gws/examples/internal/devcert"
)

// useTLS is -tls: serve HTTPS with HTTP/2 on a self-signed certificate
// made at start-up. With GODEBUG=http2xconnect=1 as well, browsers open
// the chat's socket as a stream of the page's HTTP/2 connection (RFC
// 8441); without it they fall back to an HTTP/1.1 upgrade.
var useTLS = flag.Bool("tls", false, "serve HTTPS with HTTP/2 on a self-signed certificate made at start-up; WebSockets over HTTP/2 need GODEBUG=http2xconnect=1")

// serve serves srv on ln, with TLS under -tls.
func serve(srv *http.Server, ln net.Listener) error {
	if !*useTLS {
		return srv.Serve(ln)
	}
	cert, fingerprint, spki, err := devcert.New()
	if err != nil {
		return err
	}
	log.Printf("chat: certificate SHA-256 fingerprint %s", fingerprint)
	log.Printf("chat: for Chromium: --ignore-certificate-errors-spki-list=%s", spki)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	// With net/http's defaults one socket that stops reading could hold
	// its whole HTTP/2 connection's input window (see the README).
	srv.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerConnection: 16 << 20, MaxReceiveBufferPerStream: 256 << 10}
	return srv.ServeTLS(ln, "", "")
}

// scheme is the scheme of the chat's page.
func scheme() string {
	if *useTLS {
		return "https"
	}
	return "http"
}
