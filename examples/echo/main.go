// Command echo is a WebSocket echo server: every text and binary message is
// sent back unchanged, on every path. It is the testee of the conformance
// tests and of Autobahn-style checkers.
//
//	go run ./examples/echo -addr 127.0.0.1:9001
//
// With -compress it accepts permessage-deflate (RFC 7692), for
// Autobahn's sections 12 and 13.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sort"
	"strings"

	gws "github.com/gwsgo/gws/core"
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
	log.Printf("echo: %s router listening on ws://%s/", *router, ln.Addr())
	u := newUpgrader()
	u.ServerOptions.CompressEnabled = *compress
	if err := serve(ln, u, wstest.Echo{}); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Fatal(err)
	}
}

func routerNames() string {
	names := make([]string, 0, len(routers))
	for n := range routers {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
