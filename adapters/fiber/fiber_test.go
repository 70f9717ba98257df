package gwsfiber_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/logger"
	"github.com/gofiber/fiber/v2/middleware/recover"
	gwsfiber "github.com/gwsgo/gws/adapters/fiber"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
)

func TestMain(m *testing.M) { wstest.VerifyTestMain(m) }

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

// newApp returns a Fiber app with the logger, recover and compress
// middleware in its chain, as a production app has them; the log goes to
// log.
func newApp(log io.Writer) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, DisableDefaultDate: true})
	// The worker pool's cleaner notices Shutdown only when it wakes up,
	// and the Date header would start a goroutine that lives as long as
	// the process: the leak check would count both.
	app.Server().MaxIdleWorkerDuration = 50 * time.Millisecond
	// A format without ${time} keeps the logger from starting its clock
	// goroutine, which never ends.
	app.Use(logger.New(logger.Config{Format: "${status} ${method} ${path} ${error}\n", Output: log}))
	app.Use(recover.New())
	app.Use(compress.New(compress.Config{Level: compress.LevelBestSpeed}))
	return app
}

// serve runs app on a loopback port until the test ends and returns its
// address.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		app.Listener(ln)
	}()
	t.Cleanup(func() {
		app.Shutdown()
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

// get sends a plain HTTP request and returns the response, body read.
func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
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
	return resp, string(body)
}

// browserHeader is what a browser adds to a WebSocket handshake and what
// trips compression middleware.
var browserHeader = http.Header{"Accept-Encoding": {"gzip, deflate, br"}}

func TestHandler(t *testing.T) {
	var log syncBuffer
	app := newApp(&log)
	u := &gws.Upgrader{CheckOrigin: anyOrigin}
	app.Get("/ws", gwsfiber.Handler(u, probe{}))
	addr := serve(t, app)
	c := dial(t, addr, "/ws", browserHeader)
	if enc := c.Response().Header.Get("Content-Encoding"); enc != "" {
		t.Fatalf("101 response has Content-Encoding %q", enc)
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 70000)} {
		if got := roundTrip(t, c, msg); got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	if !strings.Contains(log.String(), "101 GET /ws") {
		t.Fatalf("logger did not log the upgrade: %q", log.String())
	}
	testFirstFrame(t, addr)
}

func TestMiddleware(t *testing.T) {
	app := newApp(io.Discard)
	u := &gws.Upgrader{CheckOrigin: anyOrigin}
	app.Use("/chat", gwsfiber.Middleware(u, probe{}))
	// A page long enough to compress would start fasthttp's compression
	// workers, which live as long as the process and fail the leak check.
	app.Get("/chat", func(c *fiber.Ctx) error { return c.SendString("page") })
	addr := serve(t, app)
	if resp, body := get(t, "http://"+addr+"/chat", nil); resp.StatusCode != http.StatusOK || body != "page" {
		t.Fatalf("plain GET: %d %q, want 200 \"page\"", resp.StatusCode, body)
	}
	c := dial(t, addr, "/chat", browserHeader)
	if got := roundTrip(t, c, "same path"); got != "same path" {
		t.Fatalf("echo: got %q", got)
	}
}

func TestRejectedOrigin(t *testing.T) {
	var log syncBuffer
	app := newApp(&log)
	app.Get("/ws", gwsfiber.Handler(&gws.Upgrader{}, probe{})) // same-origin check
	addr := serve(t, app)
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
	if !strings.Contains(log.String(), "403 GET /ws") {
		t.Fatalf("logger did not log the rejection: %q", log.String())
	}
}

func TestPanicInCheckOrigin(t *testing.T) {
	app := newApp(io.Discard)
	u := &gws.Upgrader{CheckOrigin: func(*gws.Request) bool { panic("broken check") }}
	app.Get("/ws", gwsfiber.Handler(u, probe{}))
	addr := serve(t, app)
	_, resp, err := wstest.Dial(addr, "/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("got %v, %v: want the recover middleware's 500", resp, err)
	}
}

// TestRouterValues checks that Locals, route parameters and the user
// context set before the upgrade are still right in OnMessage after many
// other requests have reused Fiber's contexts and fasthttp's buffers.
func TestRouterValues(t *testing.T) {
	app := newApp(io.Discard)
	app.Use(func(c *fiber.Ctx) error {
		user := c.Get("X-User") // points into fasthttp's request buffer
		c.Locals("user", user)
		c.SetUserContext(context.WithValue(c.UserContext(), ctxKey("user"), user))
		return c.Next()
	})
	u := &gws.Upgrader{CheckOrigin: func(r *gws.Request) bool {
		room, _ := r.Storage.Get("param:room")
		user, _ := r.Storage.Get("user")
		return room == "lobby" && user == "alice"
	}}
	app.Get("/rooms/:room/ws", gwsfiber.Handler(u, probe{}))
	app.Get("/rooms/:room", func(c *fiber.Ctx) error {
		return c.SendString(fmt.Sprintf("%s in %s", c.Locals("user"), c.Params("room")))
	})
	addr := serve(t, app)
	c := dial(t, addr, "/rooms/lobby/ws", http.Header{"X-User": {"alice"}})
	for i := range 200 {
		user := fmt.Sprintf("mallory%03d", i)
		if _, body := get(t, "http://"+addr+"/rooms/attic", http.Header{"X-User": {user}}); body != user+" in attic" {
			t.Fatalf("plain request: %q", body)
		}
	}
	for q, want := range map[string]string{"get user": "alice", "get param:room": "lobby", "ctx user": "alice"} {
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
	app := newApp(io.Discard)
	app.Get("/*", gwsfiber.Handler(&gws.Upgrader{CheckOrigin: anyOrigin}, wstest.Echo{}))
	wstest.Run(t, serve(t, app), "/", wstest.Cases(1, 2, 5, 7))
}
