package main

import (
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/examples/internal/devcert"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/nodejs"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

// h2Routers are the routers that serve WebSockets over HTTP/2: those on
// net/http. fasthttp (and Fiber on it) speaks HTTP/1.1 only.
var h2Routers = []string{"nethttp", "gin", "echo", "echov5"}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// startTLSEcho serves echo with u as `go run ./examples/echo -tls` does,
// on a loopback port until t ends, and returns the listener.
func startTLSEcho(t *testing.T, serve server, u *gws.Upgrader) *countingListener {
	t.Helper()
	cert, _, _, err := devcert.New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	done := make(chan error, 1)
	go func() {
		done <- serve(&tlsListener{Listener: cl, config: &tls.Config{Certificates: []tls.Certificate{cert}}}, u, wstest.Echo{})
	}()
	t.Cleanup(func() {
		ln.Close()
		// An HTTP/2 WebSocket holds its handler, which the server's end
		// does not interrupt.
		u.Shutdown(t.Context())
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("server: %v", err)
		}
	})
	return cl
}

// TestConformanceH2 runs the Autobahn-style cases over HTTP/2 streams, one
// connection per run, against the echo server as
// `GODEBUG=http2xconnect=1 go run ./examples/echo -tls -router NAME` serves
// it on each router that runs on net/http: sections 1–7 and 10, and with
// -compress 12 and 13. Under the race detector only on net/http, as
// TestConformance.
func TestConformanceH2(t *testing.T) {
	if !routertest.XConnect(t, true) {
		return
	}
	for _, name := range h2Routers {
		if name == "echov5" {
			// No router touches the byte stream after the handshake, and
			// three routers' worth of cases take minutes under the race
			// detector; Echo v5's handshake is TestBrowserH2's and
			// TestInteropH2's, and its adapter's TestHTTP2.
			continue
		}
		for _, mode := range conformanceModes {
			if mode.codec != "std" {
				// The codec sits below the byte stream, which is all
				// HTTP/2 changes; TestConformance runs it.
				continue
			}
			t.Run(name+mode.suffix, func(t *testing.T) {
				skipUnderRace(t, name)
				u := newUpgrader()
				u.ServerOptions.CompressEnabled = mode.compress
				var proto atomic.Int64
				u.CheckOrigin = func(r *gws.Request) bool { proto.Store(int64(r.ProtoMajor)); return true }
				ln := startTLSEcho(t, routers[name], u)
				conformance.RunH2(t, ln.Addr().String(), "/", conformance.Cases(mode.sections...))
				// 0 when -run selected no case of the run.
				if p := proto.Load(); p != 0 && p != 2 {
					t.Errorf("the cases came over HTTP/%d", p)
				}
			})
		}
	}
}

// TestInteropH2 runs interop/h2_client.mjs against the echo server as
// `GODEBUG=http2xconnect=1 go run ./examples/echo -tls` serves it: Node's
// built-in http2 client, which knows nothing of WebSockets, opens the
// stream with an extended CONNECT and sends masked frames written by hand
// (text, binary, 1 MiB, fragmented, a ping, close 1000); every message
// must come back byte for byte, and the stream end without a reset. The
// script needs no package; without node and npm the test skips, except
// under CI=true, where it fails.
func TestInteropH2(t *testing.T) {
	if !routertest.XConnect(t, true) {
		return
	}
	node, dir := nodejs.Package(t, "interop", "the Node.js HTTP/2 check")
	for _, name := range h2Routers {
		t.Run(name, func(t *testing.T) {
			u := newUpgrader()
			var proto atomic.Int64
			u.CheckOrigin = func(r *gws.Request) bool { proto.Store(int64(r.ProtoMajor)); return true }
			ln := startTLSEcho(t, routers[name], u)
			nodejs.RunScript(t, node, dir, 90*time.Second, "h2_client.mjs", "https://"+ln.Addr().String()+"/interop")
			if p := proto.Load(); p != 2 {
				t.Errorf("the client's socket came over HTTP/%d", p)
			}
		})
	}
}
