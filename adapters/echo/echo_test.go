package gwsecho_test

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

	gwsecho "github.com/gwsgo/gws/adapters/echo"
	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

func TestMain(m *testing.M) { wstest.VerifyTestMain(m) }

type ctxKey string

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

// newEcho returns an Echo instance with the Logger, Recover, CORS and Gzip
// middleware in its chain, as a production service has them; the log goes
// to log.
func newEcho(log io.Writer) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(log)
	e.Use(middleware.LoggerWithConfig(middleware.LoggerConfig{Output: log}))
	e.Use(middleware.Recover())
	e.Use(middleware.CORS())
	e.Use(middleware.Gzip())
	return e
}

// browserHeader is what a browser adds to a WebSocket handshake, and what
// makes the Gzip middleware wrap the response writer.
var browserHeader = http.Header{"Accept-Encoding": {"gzip, deflate, br"}, "Origin": {"http://app.example"}}

func TestHandler(t *testing.T) {
	var log syncBuffer
	e := newEcho(&log)
	e.GET("/ws", gwsecho.Handler(&gws.Upgrader{CheckOrigin: anyOrigin}, probe{}))
	addr := serve(t, e)
	c := dial(t, addr, "/ws", browserHeader)
	if enc := c.Response().Header.Get("Content-Encoding"); enc != "" {
		t.Fatalf("101 response has Content-Encoding %q", enc)
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 70000)} {
		if got := roundTrip(t, c, msg); got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	if !strings.Contains(log.String(), `"status":101`) {
		t.Fatalf("Logger did not log the upgrade as 101: %q", log.String())
	}
	testFirstFrame(t, addr)
}

func TestMiddleware(t *testing.T) {
	e := newEcho(io.Discard)
	e.Use(gwsecho.Middleware(&gws.Upgrader{CheckOrigin: anyOrigin}, probe{}))
	e.GET("/chat", func(c echo.Context) error { return c.String(http.StatusOK, strings.Repeat("page ", 100)) })
	addr := serve(t, e)
	if status, body := get(t, "http://"+addr+"/chat", nil); status != http.StatusOK || body != strings.Repeat("page ", 100) {
		t.Fatalf("plain GET: %d %q", status, body)
	}
	c := dial(t, addr, "/chat", browserHeader)
	if got := roundTrip(t, c, "same path"); got != "same path" {
		t.Fatalf("echo: got %q", got)
	}
}

func TestRejectedOrigin(t *testing.T) {
	var log syncBuffer
	e := newEcho(&log)
	e.GET("/ws", gwsecho.Handler(&gws.Upgrader{}, probe{})) // same-origin check
	addr := serve(t, e)
	_, resp, err := wstest.Dial(addr, "/ws", http.Header{"Origin": {"http://evil.example"}})
	if err == nil {
		t.Fatal("handshake from a foreign origin succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %v, want a 403 response", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "websocket: request origin not allowed\n" {
		t.Fatalf("403 body %q: Echo's error handler wrote over the answer", body)
	}
	if !strings.Contains(log.String(), `"status":403`) || !strings.Contains(log.String(), "origin not allowed") {
		t.Fatalf("Logger did not log the rejection and its cause: %q", log.String())
	}
}

// opaqueWriter hides the writer under it: it can neither hijack nor
// unwrap, like a careless third-party middleware's.
type opaqueWriter struct{ w http.ResponseWriter }

func (o opaqueWriter) Header() http.Header         { return o.w.Header() }
func (o opaqueWriter) Write(b []byte) (int, error) { return o.w.Write(b) }
func (o opaqueWriter) WriteHeader(code int)        { o.w.WriteHeader(code) }

// TestOpaqueWriter checks that an upgrade made impossible by a middleware
// fails with an error that names the cause, instead of hanging or
// panicking.
func TestOpaqueWriter(t *testing.T) {
	errs := make(chan error, 1)
	e := newEcho(io.Discard)
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Writer = opaqueWriter{c.Response().Writer}
			err := next(c)
			errs <- err
			return err
		}
	})
	e.GET("/ws", gwsecho.Handler(&gws.Upgrader{CheckOrigin: anyOrigin}, probe{}))
	addr := serve(t, e)
	_, resp, err := wstest.Dial(addr, "/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("got %v, %v: want a 500 response", resp, err)
	}
	if err := <-errs; !errors.Is(err, gwshttp.ErrHijack) {
		t.Fatalf("error %v does not wrap gwshttp.ErrHijack", err)
	}
}

func TestPanicInCheckOrigin(t *testing.T) {
	e := newEcho(io.Discard)
	u := &gws.Upgrader{CheckOrigin: func(*gws.Request) bool { panic("broken check") }}
	e.GET("/ws", gwsecho.Handler(u, probe{}))
	addr := serve(t, e)
	_, resp, err := wstest.Dial(addr, "/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("got %v, %v: want the Recover middleware's 500", resp, err)
	}
}

// TestRouterValues checks that route parameters, request context values
// and what CheckOrigin copied from c.Get are still right in OnMessage
// after many other requests have reused Echo's contexts.
func TestRouterValues(t *testing.T) {
	e := newEcho(io.Discard)
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			user := c.Request().Header.Get("X-User")
			c.Set("user", user)
			c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), ctxKey("user"), user)))
			return next(c)
		}
	})
	u := &gws.Upgrader{CheckOrigin: func(r *gws.Request) bool {
		user, _ := gwsecho.Context(r).Get("user").(string)
		r.Storage.Put("user", user)
		room, _ := r.Storage.Get("param:room")
		return room == "lobby" && user == "alice"
	}}
	e.GET("/rooms/:room/ws", gwsecho.Handler(u, probe{}))
	e.GET("/rooms/:room", func(c echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprintf("%s in %s", c.Get("user"), c.Param("room")))
	})
	addr := serve(t, e)
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

func TestContextOutsideHandshake(t *testing.T) {
	if c := gwsecho.Context(gws.NewRequest(&http.Request{})); c != nil {
		t.Fatalf("Context of a request not being upgraded: %v, want nil", c)
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
	e := newEcho(io.Discard)
	e.GET("/*", gwsecho.Handler(&gws.Upgrader{CheckOrigin: anyOrigin}, wstest.Echo{}))
	wstest.Run(t, serve(t, e), "/", wstest.Cases(1, 2, 5, 7))
}
