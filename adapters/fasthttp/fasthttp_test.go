package gwsfasthttp_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/valyala/fasthttp"
)

func TestMain(m *testing.M) { wstest.VerifyTestMain(m) }

// probe echoes every message except "get KEY", which it answers with the
// connection's Storage value under KEY, so a test can see what the
// connection holds long after its handshake.
type probe struct{ wstest.Echo }

func (p probe) OnMessage(c *gws.Conn, m *gws.Message) {
	key, ok := strings.CutPrefix(string(m.Bytes()), "get ")
	if !ok {
		p.Echo.OnMessage(c, m)
		return
	}
	m.Close()
	v, _ := c.Storage.Get(key)
	if b, isBytes := v.([]byte); isBytes {
		v = string(b)
	}
	_ = c.Write(gws.OpcodeText, fmt.Appendf(nil, "%v", v))
}

func anyOrigin(*gws.Request) bool { return true }

// serve runs s on ln, or on a loopback port when ln is nil, until the
// test ends and returns its address.
func serve(t *testing.T, s *fasthttp.Server, ln net.Listener) string {
	t.Helper()
	// The worker pool's cleaner notices Shutdown only when it wakes up,
	// and the Date header starts a goroutine that lives as long as the
	// process: the leak check would count both.
	s.MaxIdleWorkerDuration = 50 * time.Millisecond
	s.NoDefaultDate = true
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Shutdown()
		<-done
	})
	return ln.Addr().String()
}

// roundTrip sends text on c and returns the text message that comes back.
func roundTrip(t *testing.T, c *wstest.RawConn, text string) string {
	t.Helper()
	if err := c.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte(text)}); err != nil {
		t.Fatal(err)
	}
	f, err := c.ReadFrame(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if f.Opcode != wstest.OpText {
		t.Fatalf("got %v frame %q, want text", f.Opcode, f.Payload)
	}
	return string(f.Payload)
}

func dial(t *testing.T, addr, path string) *wstest.RawConn {
	t.Helper()
	c, _, err := wstest.Dial(addr, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends a plain HTTP request and returns the status and body.
func get(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestHandlerEcho(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: anyOrigin}
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, probe{})}, nil)
	c := dial(t, addr, "/ws")
	for _, msg := range []string{"hello", strings.Repeat("x", 70000)} {
		if got := roundTrip(t, c, msg); got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
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
	u := &gws.Upgrader{CheckOrigin: anyOrigin}
	s := &fasthttp.Server{Handler: gwsfasthttp.Handler(u, probe{}), KeepHijackedConns: true}
	c := dial(t, serve(t, s, nil), "/ws")
	if got := roundTrip(t, c, "kept"); got != "kept" {
		t.Fatalf("echo: got %q", got)
	}
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
	u := &gws.Upgrader{CheckOrigin: anyOrigin}
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, probe{})}, plainListener{ln})
	c := dial(t, addr, "/ws")
	if got := roundTrip(t, c, "inside the hijack handler"); got != "inside the hijack handler" {
		t.Fatalf("echo: got %q", got)
	}
	if n := hijackHandlersRunning(); n != 1 {
		t.Fatalf("%d fasthttp hijack handlers running, want the connection's own", n)
	}
	testFirstFrame(t, addr)
}

func TestMiddleware(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: anyOrigin}
	page := func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("page") }
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Middleware(u, probe{})(page)}, nil)
	if status, body := get(t, "http://"+addr+"/chat", nil); status != http.StatusOK || body != "page" {
		t.Fatalf("plain GET: %d %q, want 200 \"page\"", status, body)
	}
	// An Upgrade header alone (h2c, say) is not a WebSocket request.
	if status, body := get(t, "http://"+addr+"/chat", http.Header{"Upgrade": {"h2c"}}); status != http.StatusOK || body != "page" {
		t.Fatalf("GET with Upgrade: h2c: %d %q, want 200 \"page\"", status, body)
	}
	c := dial(t, addr, "/chat")
	if got := roundTrip(t, c, "same path"); got != "same path" {
		t.Fatalf("echo: got %q", got)
	}
}

func TestRejectedOrigin(t *testing.T) {
	u := &gws.Upgrader{} // same-origin check
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, probe{})}, nil)
	_, resp, err := wstest.Dial(addr, "/ws", http.Header{"Origin": {"http://evil.example"}})
	if err == nil {
		t.Fatal("handshake from a foreign origin succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %v, want a 403 response", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "origin") {
		t.Fatalf("403 body %q does not say why", body)
	}
	// A malformed handshake gets its own status, with the header it needs.
	_, resp, _ = wstest.Dial(addr, "/ws", http.Header{"Sec-WebSocket-Version": {"8"}})
	if resp == nil || resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Sec-WebSocket-Version") != "13" {
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
	ws := gwsfasthttp.Handler(u, probe{})
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
	c, _, err := wstest.Dial(addr, "/ws", http.Header{"X-User": {"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 200 {
		user := fmt.Sprintf("mallory%03d", i)
		if _, body := get(t, "http://"+addr+"/", http.Header{"X-User": {user}}); body != "hello "+user {
			t.Fatalf("plain request: %q", body)
		}
	}
	if got := roundTrip(t, c, "get user"); got != "alice" {
		t.Fatalf("user after 200 requests: %q, want alice", got)
	}
}

func TestFirstFrameBehindHandshake(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: anyOrigin}
	testFirstFrame(t, serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, probe{})}, nil))
}

// testFirstFrame sends the handshake and a first message in one write, so
// that the server reads both at once, and expects the message echoed.
func testFirstFrame(t *testing.T, addr string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	b := []byte("GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
	b = wstest.AppendFrame(b, wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte("early")})
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wstest.AcceptKey(key) {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	want := []byte{0x81, 5, 'e', 'a', 'r', 'l', 'y'}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("first frame: got % x (%v), want % x", got, err, want)
	}
}

func TestConformanceSmoke(t *testing.T) {
	u := &gws.Upgrader{CheckOrigin: anyOrigin}
	addr := serve(t, &fasthttp.Server{Handler: gwsfasthttp.Handler(u, wstest.Echo{})}, nil)
	wstest.Run(t, addr, "/", wstest.Cases(1, 2, 5, 7))
}
