// Command echo is a WebSocket echo server: every text and binary message is
// sent back unchanged, on every path. It is the testee of the conformance
// tests and of Autobahn-style checkers.
//
//	go run ./examples/echo -addr 127.0.0.1:9001
//
// With -compress it accepts permessage-deflate (RFC 7692), for
// Autobahn's sections 12 and 13; -codec klauspost compresses with
// github.com/klauspost/compress instead of the standard library. -poller
// parks idle connections in gws's epoll set instead of on a goroutine
// each (Linux), and -memory-budget 256MiB bounds what all connections hold
// in messages being received and in write queues (memory.go).
//
// With -tls it serves HTTPS and HTTP/2 on a self-signed certificate made at
// start-up (its fingerprint is printed), with a page at every other GET;
// with GODEBUG=http2xconnect=1 as well, browsers open their WebSockets as
// HTTP/2 streams (RFC 8441) on the page's connection:
//
//	GODEBUG=http2xconnect=1 go run ./examples/echo -tls
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"maps"
	"net"
	"os"
	"slices"
	"strings"

	gwsklauspost "github.com/gwsgo/gws/compress/klauspost"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/examples/internal/devcert"
	"github.com/gwsgo/gws/internal/wstest"
)

// newUpgrader returns the upgrader of the echo server: any origin (test
// clients send arbitrary ones) and large messages (Autobahn's section 9).
// -compress then sets ServerOptions.CompressEnabled.
func newUpgrader() *gws.Upgrader {
	return &gws.Upgrader{
		ServerOptions: &gws.ServerOptions{ReadMaxPayloadSize: 64 << 20},
		CheckOrigin:   func(*gws.Request) bool { return true },
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	router := flag.String("router", "nethttp", "router to mount gws on: "+routerNames())
	compress := flag.Bool("compress", false, "accept permessage-deflate (RFC 7692)")
	codec := flag.String("codec", "std", "DEFLATE codec with -compress: "+codecNames())
	useTLS := flag.Bool("tls", false, "serve HTTPS with HTTP/2 on a self-signed certificate made at start-up; WebSockets over HTTP/2 need GODEBUG=http2xconnect=1")
	flag.Parse()
	serve, ok := routers[*router]
	if !ok {
		fmt.Fprintf(os.Stderr, "echo: unknown -router %q (want one of %s)\n", *router, routerNames())
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	scheme := "ws"
	if *useTLS {
		cert, fingerprint, spki, err := devcert.New()
		if err != nil {
			log.Fatal(err)
		}
		ln = &tlsListener{Listener: ln, config: &tls.Config{Certificates: []tls.Certificate{cert}}}
		scheme = "wss"
		log.Printf("echo: certificate SHA-256 fingerprint %s", fingerprint)
		log.Printf("echo: for Chromium: --ignore-certificate-errors-spki-list=%s", spki)
		log.Printf("echo: page at https://%s/; WebSockets over HTTP/2 %s", ln.Addr(), xconnectState())
	}
	log.Printf("echo: %s router listening on %s://%s/", *router, scheme, ln.Addr())
	u := newUpgrader()
	u.ServerOptions.CompressEnabled = *compress
	c, ok := codecs[*codec]
	if !ok {
		fmt.Fprintf(os.Stderr, "echo: unknown -codec %q (want one of %s)\n", *codec, codecNames())
		os.Exit(2)
	}
	u.ServerOptions.CompressCodec = c
	applyMemoryFlags(u.ServerOptions)
	if err := serve(ln, u, wstest.Echo{}); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Fatal(err)
	}
}

// codecs are the DEFLATE implementations -codec chooses from; nil is
// gws's default, compress/flate.
var codecs = map[string]gws.Codec{
	"std":       nil,
	"klauspost": gwsklauspost.Codec{},
}

func routerNames() string { return strings.Join(slices.Sorted(maps.Keys(routers)), ", ") }

func codecNames() string { return strings.Join(slices.Sorted(maps.Keys(codecs)), ", ") }
