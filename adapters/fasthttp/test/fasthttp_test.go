package test

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"

	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/routertest"
	"github.com/valyala/fasthttp"
)

func TestMain(m *testing.M) { leak.VerifyTestMainIgnoring(m, leak.FasthttpGoroutines...) }

// serve runs s on ln, or on a loopback port when ln is nil, until the
// test ends and returns its address.
func serve(t *testing.T, s *fasthttp.Server, ln net.Listener) string {
	t.Helper()
	return routertest.Serve(t, ln, s.Serve, s.Shutdown)
}

func TestHandlerEcho(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, routertest.Probe{})}, nil)
	routertest.CheckEcho(t, routertest.MustDial(t, addr, "/ws", nil), "hello", strings.Repeat("x", 70000))
	// The connection must not pin fasthttp's RequestCtx and read buffer
	// (fasthttp issue 2363): the hijack handler has returned.
	if n := hijackHandlersRunning(); n != 0 {
		t.Fatalf("%d fasthttp hijack handler(s) still running for an open connection", n)
	}
}

// hijackHandlersRunning counts the goroutines inside a fasthttp hijack
// handler.
func hijackHandlersRunning() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "fasthttp.hijackConnHandler(")
}

func TestKeepHijackedConns(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	s := &fasthttp.Server{Handler: gwsfasthttp.Handler(u, routertest.Probe{}), KeepHijackedConns: true}
	routertest.CheckEcho(t, routertest.MustDial(t, serve(t, s, nil), "/ws", nil), "kept")
}

// plainListener hides the connections' file descriptors, as TLS does, so
// that the adapter cannot detach them from fasthttp.
type plainListener struct{ net.Listener }

func (l plainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return struct{ net.Conn }{c}, err
}

func TestConnWithoutDescriptor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, routertest.Probe{})}, plainListener{ln})
	routertest.CheckEcho(t, routertest.MustDial(t, addr, "/ws", nil), "inside the hijack handler")
	if n := hijackHandlersRunning(); n != 1 {
		t.Fatalf("%d fasthttp hijack handlers running, want the connection's own", n)
	}
	routertest.CheckFirstFrame(t, addr, "/ws")
}

func TestMiddleware(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	page := func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("page") }
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Middleware(u, routertest.Probe{})(page)}, nil)
	if status, body := routertest.HTTPGet(t, "http://"+addr+"/chat", nil); status != http.StatusOK || body != "page" {
		t.Fatalf("plain GET: %d %q, want 200 \"page\"", status, body)
	}
	// An Upgrade header alone (h2c, say) is not a WebSocket request.
	if status, body := routertest.HTTPGet(t, "http://"+addr+"/chat", http.Header{"Upgrade": {"h2c"}}); status != http.StatusOK || body != "page" {
		t.Fatalf("GET with Upgrade: h2c: %d %q, want 200 \"page\"", status, body)
	}
	routertest.CheckEcho(t, routertest.MustDial(t, addr, "/chat", nil), "same path")
}

func TestRejectedOrigin(t *testing.T) {
	u := &gws.Upgrader{} // same-origin check
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, routertest.Probe{})}, nil)
	routertest.CheckRejectedOrigin(t, addr, "/ws")
	// A malformed handshake gets its own status, with the header it needs.
	resp := routertest.CheckHandshakeStatus(t, addr, "/ws", http.Header{"Sec-WebSocket-Version": {"8"}}, http.StatusUpgradeRequired)
	if resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("version 8: got %v, want 426 with Sec-WebSocket-Version: 13", resp)
	}
}

// TestRouterValues checks that user values set before the upgrade, among
// them bytes that point into fasthttp's request buffer, are still right in
// OnMessage after many other requests have reused fasthttp's contexts.
func TestRouterValues(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: func(r *gws.Request) bool {
		v, _ := r.Storage.Get("user")
		b, _ := v.([]byte)
		return string(b) == "alice"
	}}
	ws := gwsfasthttp.Handler(u, routertest.Probe{})
	auth := func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue("user", ctx.Request.Header.Peek("X-User"))
		ctx.SetUserValue(struct{}{}, "not a string key")
		if gwsfasthttp.IsUpgrade(ctx) {
			ws(ctx)
			return
		}
		fmt.Fprintf(ctx, "hello %s", ctx.UserValue("user"))
	}
	addr := serve(t, &fasthttp.Server{Handler: auth}, nil)
	// The value stays the bytes CheckOrigin saw; the probe prints them as
	// %v does.
	routertest.CheckRouterValues(t, addr, "/ws", "/", "hello %s", map[string]string{"get user": fmt.Sprint([]byte("alice"))})
}

func TestFirstFrameBehindHandshake(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	routertest.CheckFirstFrame(t, serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, routertest.Probe{})}, nil), "/ws")
}

func TestConformanceSmoke(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, wstest.Echo{})}, nil)
	conformance.Run(t, addr, "/", conformance.Cases(1, 2, 5, 7))
}
