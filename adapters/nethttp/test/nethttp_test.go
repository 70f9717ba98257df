package test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// roundTrip dials srv, sends one text message, checks the echo and closes.
func roundTrip(t *testing.T, srv *httptest.Server, path string) {
	t.Helper()
	c := routertest.MustDial(t, srv.Listener.Addr().String(), path, nil)
	routertest.CheckEcho(t, c, "hello")
	c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: []byte{0x03, 0xe8}})
	if f, err := c.ReadFrame(5 * time.Second); err != nil || f.Opcode != rawclient.OpClose {
		t.Fatalf("close echo: %+v %v", f, err)
	}
	if err := c.WaitClosed(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(gwshttp.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, wstest.Echo{}))
	defer srv.Close()
	roundTrip(t, srv, "/")
}

func TestMiddlewarePassesOtherRequests(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	srv := httptest.NewServer(gwshttp.Middleware(&gws.Upgrader{}, wstest.Echo{})(page))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/chat")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "page" {
		t.Fatalf("non-WebSocket request got %q", body)
	}
	roundTrip(t, srv, "/chat")
}

// TestRejectionKeepsConnection sends a bad handshake and then an ordinary
// request on the same TCP connection: the rejection must be a normal HTTP
// response that leaves keep-alive working.
func TestRejectionKeepsConnection(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	srv := httptest.NewServer(gwshttp.Middleware(&gws.Upgrader{}, wstest.Echo{})(page))
	defer srv.Close()
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Sec-WebSocket-Key") {
		t.Fatalf("bad handshake got %d %q", resp.StatusCode, body)
	}
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("keep-alive connection did not survive the rejection: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	if string(body) != "page" {
		t.Fatalf("second request got %q", body)
	}
}

func TestCheckOriginRejects(t *testing.T) {
	srv := httptest.NewServer(gwshttp.Handler(&gws.Upgrader{}, wstest.Echo{}))
	defer srv.Close()
	_, resp, err := rawclient.Dial(srv.Listener.Addr().String(), "/", http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin handshake: %v %v", resp, err)
	}
}

// loggingWriter wraps a ResponseWriter the way logging middleware does:
// it hides Hijack but offers Unwrap.
type loggingWriter struct {
	http.ResponseWriter
	status int
}

func (w *loggingWriter) WriteHeader(code int)        { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *loggingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func withLogging(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&loggingWriter{ResponseWriter: w}, r)
	})
}

func withOpaqueWriter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(routertest.OpaqueWriter{W: w}, r)
	})
}

func TestHijackThroughUnwrap(t *testing.T) {
	srv := httptest.NewServer(withLogging(gwshttp.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, wstest.Echo{})))
	defer srv.Close()
	roundTrip(t, srv, "/")
}

func TestCannotHijackSaysWhy(t *testing.T) {
	errc := make(chan error, 1)
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	srv := httptest.NewServer(withOpaqueWriter(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := u.Upgrade(context.Background(), w, r, wstest.Echo{})
		errc <- err
	})))
	defer srv.Close()
	_, resp, err := rawclient.Dial(srv.Listener.Addr().String(), "/", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("handshake through an opaque writer: %v %v", resp, err)
	}
	var he *gws.HandshakeError
	if err := <-errc; !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError || !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("Upgrade error %v, want a 500 HandshakeError wrapping http.ErrNotSupported", err)
	}
}

// TestFirstFrameBehindHandshake sends a frame in the same write as the
// request: net/http has read it into its buffer before the hijack, and it
// must still reach the handler.
func TestFirstFrameBehindHandshake(t *testing.T) {
	srv := httptest.NewServer(gwshttp.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, wstest.Echo{}))
	defer srv.Close()
	routertest.CheckFirstFrame(t, srv.Listener.Addr().String(), "/")
}
