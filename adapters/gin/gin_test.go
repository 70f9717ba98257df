package gwsgin_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	wstest.VerifyTestMain(m)
}

type ctxKey string

// probe echoes every message except "get KEY", which it answers with the
// connection's Storage value under KEY, and "ctx KEY", which it answers
// with the value of its Context under ctxKey(KEY), so a test can see what
// the connection holds long after its handshake.
type probe struct{ wstest.Echo }

func (p probe) OnMessage(c *gws.Conn, m *gws.Message) {
	var v any
	if key, ok := strings.CutPrefix(string(m.Bytes()), "get "); ok {
		v, _ = c.Storage.Get(key)
	} else if key, ok := strings.CutPrefix(string(m.Bytes()), "ctx "); ok {
		v = c.Context.Value(ctxKey(key))
	} else {
		p.Echo.OnMessage(c, m)
		return
	}
	m.Close()
	_ = c.Write(gws.OpcodeText, fmt.Appendf(nil, "%v", v))
}

func anyOrigin(*gws.Request) bool { return true }

// syncBuffer is a log output the test reads while the server writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newRouter returns a Gin engine with the Logger and Recovery middleware
// in its chain, as gin.Default has them; the log goes to log.
func newRouter(log io.Writer) *gin.Engine {
	r := gin.New()
	r.Use(gin.LoggerWithWriter(log), gin.RecoveryWithWriter(log))
	return r
}

// serve runs h on a loopback port until the test ends and returns its
// address.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
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

func dial(t *testing.T, addr, path string, header http.Header) *wstest.RawConn {
	t.Helper()
	c, _, err := wstest.Dial(addr, path, header)
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

func TestHandler(t *testing.T) {
	var log syncBuffer
	r := newRouter(&log)
	r.GET("/ws", gwsgin.Handler(&gws.Upgrader{CheckOrigin: anyOrigin}, probe{}))
	addr := serve(t, r)
	c := dial(t, addr, "/ws", nil)
	for _, msg := range []string{"hello", strings.Repeat("x", 70000)} {
		if got := roundTrip(t, c, msg); got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	if !strings.Contains(log.String(), "| 101 |") {
		t.Fatalf("Logger did not log the upgrade as 101: %q", log.String())
	}
	testFirstFrame(t, addr)
}

func TestMiddleware(t *testing.T) {
	r := newRouter(io.Discard)
	r.Use(gwsgin.Middleware(&gws.Upgrader{CheckOrigin: anyOrigin}, probe{}))
	r.GET("/chat", func(c *gin.Context) { c.String(http.StatusOK, "page") })
	addr := serve(t, r)
	if status, body := get(t, "http://"+addr+"/chat", nil); status != http.StatusOK || body != "page" {
		t.Fatalf("plain GET: %d %q, want 200 \"page\"", status, body)
	}
	c := dial(t, addr, "/chat", nil)
	if got := roundTrip(t, c, "same path"); got != "same path" {
		t.Fatalf("echo: got %q", got)
	}
}

func TestRejectedOrigin(t *testing.T) {
	var log syncBuffer
	r := newRouter(&log)
	r.GET("/ws", gwsgin.Handler(&gws.Upgrader{}, probe{})) // same-origin check
	addr := serve(t, r)
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
	if !strings.Contains(log.String(), "| 403 |") || !strings.Contains(log.String(), "origin not allowed") {
		t.Fatalf("Logger did not log the rejection and its cause: %q", log.String())
	}
}

// TestHeaderWritten checks that an upgrade after a middleware wrote the
// response header fails with an error that names the cause, instead of
// sending a 101 behind the header (Gin 1.12 would hijack) or hanging.
func TestHeaderWritten(t *testing.T) {
	errs := make(chan error, 1)
	r := newRouter(io.Discard)
	r.Use(func(c *gin.Context) {
		c.Writer.WriteHeaderNow()
		c.Next()
		errs <- c.Errors.Last()
	})
	r.GET("/ws", gwsgin.Handler(&gws.Upgrader{CheckOrigin: anyOrigin}, probe{}))
	addr := serve(t, r)
	if _, resp, err := wstest.Dial(addr, "/ws", nil); err == nil || resp == nil || resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatalf("got %v, %v: want a plain HTTP answer", resp, err)
	}
	if err := <-errs; !errors.Is(err, gwshttp.ErrHijack) {
		t.Fatalf("error %v does not wrap gwshttp.ErrHijack", err)
	}
}

func TestPanicInCheckOrigin(t *testing.T) {
	r := newRouter(io.Discard)
	u := &gws.Upgrader{CheckOrigin: func(*gws.Request) bool { panic("broken check") }}
	r.GET("/ws", gwsgin.Handler(u, probe{}))
	addr := serve(t, r)
	_, resp, err := wstest.Dial(addr, "/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("got %v, %v: want the Recovery middleware's 500", resp, err)
	}
}

// TestRouterValues checks that c.Set values, route parameters and request
// context values set before the upgrade are still right in OnMessage after
// many other requests have reused Gin's contexts.
func TestRouterValues(t *testing.T) {
	r := newRouter(io.Discard)
	r.Use(func(c *gin.Context) {
		user := c.GetHeader("X-User")
		c.Set("user", user)
		c.Set(ctxKey("typed"), "left out")
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), ctxKey("user"), user))
	})
	u := &gws.Upgrader{CheckOrigin: func(r *gws.Request) bool {
		room, _ := r.Storage.Get("param:room")
		user, _ := r.Storage.Get("user")
		return room == "lobby" && user == "alice"
	}}
	r.GET("/rooms/:room/ws", gwsgin.Handler(u, probe{}))
	r.GET("/rooms/:room", func(c *gin.Context) {
		c.String(http.StatusOK, "%s in %s", c.GetString("user"), c.Param("room"))
	})
	addr := serve(t, r)
	c := dial(t, addr, "/rooms/lobby/ws", http.Header{"X-User": {"alice"}})
	for i := range 200 {
		user := fmt.Sprintf("mallory%03d", i)
		if _, body := get(t, "http://"+addr+"/rooms/attic", http.Header{"X-User": {user}}); body != user+" in attic" {
			t.Fatalf("plain request: %q", body)
		}
	}
	for q, want := range map[string]string{"get user": "alice", "get param:room": "lobby", "ctx user": "alice", "get typed": "<nil>"} {
		if got := roundTrip(t, c, q); got != want {
			t.Errorf("%s after 200 requests: %q, want %q", q, got, want)
		}
	}
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
	r := newRouter(io.Discard)
	r.GET("/*path", gwsgin.Handler(&gws.Upgrader{CheckOrigin: anyOrigin}, wstest.Echo{}))
	wstest.Run(t, serve(t, r), "/", wstest.Cases(1, 2, 5, 7))
}
