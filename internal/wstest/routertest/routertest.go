package routertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// adapterTimeout bounds each step of the checks below, so that an adapter
// that hangs fails its test instead of stalling the package.
const adapterTimeout = 5 * time.Second

// AnyOrigin is an Upgrader.CheckOrigin that accepts every request, for
// tests whose handshakes come from no browser and whose subject is not
// the origin check.
func AnyOrigin(*gws.Request) bool { return true }

// ContextKey is the type of the context keys Probe looks up. A test
// stores a value under ContextKey("user") in the handshake request's
// context and asks for it with "ctx user"; a key type of its own keeps
// the value apart from whatever the router keeps in the same context.
type ContextKey string

// Probe echoes every message as wstest.Echo does, except "get KEY", which it
// answers with the connection's Storage value under KEY, and "ctx KEY",
// which it answers with the value of its Context under ContextKey(KEY).
// Values are printed as fmt's %v prints them ("<nil>" for a missing one),
// so that an answer shows the value's type as well as its content. A test
// asks long after the handshake, to see that what the router attached to
// the request is still there and still right. Its zero value is ready to
// use.
type Probe struct{ wstest.Echo }

// OnMessage answers a question, or echoes m.
func (p Probe) OnMessage(c *gws.Conn, m *gws.Message) {
	var v any
	if key, ok := strings.CutPrefix(string(m.Bytes()), "get "); ok {
		v, _ = c.Storage.Get(key)
	} else if key, ok := strings.CutPrefix(string(m.Bytes()), "ctx "); ok {
		v = c.Context.Value(ContextKey(key))
	} else {
		p.Echo.OnMessage(c, m)
		return
	}
	m.Close()
	_ = c.Write(gws.OpcodeText, fmt.Appendf(nil, "%v", v))
}

// SyncBuffer is a log output that a test reads while the server under test
// writes it from its own goroutines. Its zero value is an empty buffer.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Await reports whether what has been written contains every one of subs
// within d. A router's logger writes its line after the handler returns,
// and a hijacked connection can finish its exchange before that.
func (s *SyncBuffer) Await(d time.Duration, subs ...string) bool {
	deadline := time.Now().Add(d)
	for {
		if out := s.String(); containsAll(out, subs) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// Serve runs a server on ln, or on a loopback port when ln is nil, until
// the test ends, and returns its address. serve is the server's accept
// loop (http.Server.Serve, fasthttp.Server.Serve, fiber.App.Listener);
// stop must make it return. The cleanup waits for serve to return, so
// that a leak check after the test does not find the server still
// winding down.
func Serve(t testing.TB, ln net.Listener, serve func(net.Listener) error, stop func() error) string {
	t.Helper()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = serve(ln) // its error only says that stop was called
	}()
	t.Cleanup(func() {
		_ = stop()
		<-done
	})
	return ln.Addr().String()
}

// ServeHTTP serves h with a net/http server on a loopback port until the
// test ends and returns its address (see Serve).
func ServeHTTP(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: adapterTimeout}
	return Serve(t, nil, srv.Serve, srv.Close)
}

// OpaqueWriter hides the http.ResponseWriter W under it, as a careless
// third-party middleware's writer does: it can neither hijack nor unwrap,
// so no upgrade can take the connection over through it.
type OpaqueWriter struct{ W http.ResponseWriter }

// Header returns W's header.
func (o OpaqueWriter) Header() http.Header { return o.W.Header() }

// Write writes b to W.
func (o OpaqueWriter) Write(b []byte) (int, error) { return o.W.Write(b) }

// WriteHeader writes code to W.
func (o OpaqueWriter) WriteHeader(code int) { o.W.WriteHeader(code) }

// MustDial is Dial for a handshake that must succeed: it fails t
// otherwise, and closes the connection when the test ends.
func MustDial(t testing.TB, addr, path string, header http.Header) *rawclient.Conn {
	t.Helper()
	c, _, err := rawclient.Dial(addr, path, header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// RoundTrip sends text on c and returns the text message that comes back,
// failing t if none comes or it is not text.
func RoundTrip(t testing.TB, c *rawclient.Conn, text string) string {
	t.Helper()
	if err := c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: []byte(text)}); err != nil {
		t.Fatal(err)
	}
	f, err := c.ReadFrame(adapterTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if f.Opcode != rawclient.OpText {
		t.Fatalf("got %v frame %q, want text", f.Opcode, f.Payload)
	}
	return string(f.Payload)
}

// CheckEcho sends each of msgs on c and fails t unless it comes back
// unchanged. A long message is reported by its length, which says more
// than its bytes would.
func CheckEcho(t testing.TB, c *rawclient.Conn, msgs ...string) {
	t.Helper()
	for _, msg := range msgs {
		got := RoundTrip(t, c, msg)
		switch {
		case got == msg:
		case len(msg) > 100:
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		default:
			t.Fatalf("echo of %q: got %q", msg, got)
		}
	}
}

// CheckUpgrade checks a WebSocket route of a router with its production
// middleware in the chain: it dials path on addr with header (say a
// browser's Accept-Encoding, which trips compression middleware), fails t
// if the 101 carries a Content-Encoding or if a short and a 70,000-byte
// message do not come back unchanged, and then runs CheckFirstFrame. The
// server must echo as Echo does.
func CheckUpgrade(t testing.TB, addr, path string, header http.Header) {
	t.Helper()
	c := MustDial(t, addr, path, header)
	if enc := c.Response().Header.Get("Content-Encoding"); enc != "" {
		t.Fatalf("101 response has Content-Encoding %q", enc)
	}
	CheckEcho(t, c, "hello", strings.Repeat("x", 70000))
	CheckFirstFrame(t, addr, path)
}

// CheckSharedPath checks a router's Middleware mount, where a page and its
// socket share path: a plain GET must answer 200 with page, and a
// WebSocket handshake with header added must be upgraded and echo.
func CheckSharedPath(t testing.TB, addr, path, page string, header http.Header) {
	t.Helper()
	if status, body := HTTPGet(t, "http://"+addr+path, nil); status != http.StatusOK || body != page {
		t.Fatalf("plain GET: %d %q, want 200 and the page", status, body)
	}
	CheckEcho(t, MustDial(t, addr, path, header), "same path")
}

// CheckFirstFrame sends the opening handshake for path and a first text
// message in one write, so that the server reads both at once, and fails t
// unless the handshake succeeds and the message comes back. It catches an
// adapter that loses what its router read past the handshake into a buffer
// of its own; the server must echo as Echo does.
func CheckFirstFrame(t testing.TB, addr, path string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(adapterTimeout))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	b := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
	b = rawclient.AppendFrame(b, rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: []byte("early")})
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != rawclient.AcceptKey(key) {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	want := []byte{0x81, 5, 'e', 'a', 'r', 'l', 'y'}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("first frame: got % x (%v), want % x", got, err, want)
	}
}

// CheckHandshakeStatus dials path with header added and fails t unless
// the server refuses the upgrade with an HTTP answer of status want. It
// returns that answer, for checks of its headers and body.
func CheckHandshakeStatus(t testing.TB, addr, path string, header http.Header, want int) *http.Response {
	t.Helper()
	_, resp, err := rawclient.Dial(addr, path, header)
	if err == nil || resp == nil || resp.StatusCode != want {
		t.Fatalf("handshake for %s: got %v, %v: want a %d response", path, resp, err, want)
	}
	return resp
}

// CheckRejectedOrigin sends a handshake for path from a foreign origin to
// a server that keeps the Upgrader's same-origin check, and fails t unless
// the answer is 403 with a body that says the origin was the reason. It
// returns the body.
func CheckRejectedOrigin(t testing.TB, addr, path string) string {
	t.Helper()
	_, resp, err := rawclient.Dial(addr, path, http.Header{"Origin": {"http://evil.example"}})
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
	return string(body)
}

// HTTPGet sends a plain HTTP request, on a connection of its own, and
// returns the status and body.
func HTTPGet(t testing.TB, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: adapterTimeout}
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

// routerReuses is how many plain requests CheckRouterValues sends between
// the handshake and its questions: routers pool their contexts and request
// buffers, and this many requests recycle every one many times over.
const routerReuses = 200

// CheckRouterValues checks that the values a router attached to a
// handshake request are still right after other requests have reused the
// router's contexts and buffers. It dials socketPath on addr with the
// header X-User: alice, sends 200 plain requests to pagePath, the i-th
// with X-User: malloryNNN, each of which must answer
// fmt.Sprintf(pageFormat, "malloryNNN"), and then sends each question of
// want ("get KEY", "ctx KEY") to the socket's Probe and compares its
// answer.
func CheckRouterValues(t testing.TB, addr, socketPath, pagePath, pageFormat string, want map[string]string) {
	t.Helper()
	c := MustDial(t, addr, socketPath, http.Header{"X-User": {"alice"}})
	for i := range routerReuses {
		user := fmt.Sprintf("mallory%03d", i)
		if _, body := HTTPGet(t, "http://"+addr+pagePath, http.Header{"X-User": {user}}); body != fmt.Sprintf(pageFormat, user) {
			t.Fatalf("plain request: %q", body)
		}
	}
	for q, w := range want {
		if got := RoundTrip(t, c, q); got != w {
			t.Errorf("%s after %d requests: %q, want %q", q, routerReuses, got, w)
		}
	}
}
