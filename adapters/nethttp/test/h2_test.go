package test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

// streamWindows is the HTTP/2 configuration the README recommends for
// WebSockets: net/http's defaults give a stream a receive window (1 MiB)
// as large as its connection's, so one socket whose handler stops reading
// takes the whole connection's window and every other socket on it stops
// receiving (TestStalledStreamH2Defaults). With 256 KiB of 16 MiB it takes
// 64 such sockets.
var streamWindows = &http.HTTP2Config{MaxReceiveBufferPerConnection: 16 << 20, MaxReceiveBufferPerStream: 256 << 10}

// TestManyStreamsH2 opens 100 WebSockets as streams of one HTTP/2
// connection to a server configured with streamWindows. They echo
// concurrently; one whose reader stops is held back by HTTP/2 flow control
// and does not hold up the others; and closing one socket (with a closing
// handshake) and resetting another leaves the rest open.
func TestManyStreamsH2(t *testing.T) {
	if !routertest.XConnect(t, true) {
		return
	}
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	var protos sync.Map
	addr := routertest.ServeH2(t, u, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.ProtoMajor, true)
		gwshttp.Handler(u, wstest.Echo{}).ServeHTTP(w, r)
	}), streamWindows)
	h2, err := rawclient.DialH2(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	const n = 100
	conns := make([]*rawclient.Conn, n)
	for i := range conns {
		if conns[i], _, err = h2.Dial("/", nil); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	if _, ok := protos.Load(1); ok {
		t.Fatal("a socket came over HTTP/1")
	}
	if got := u.Stats().Conns; got != n {
		t.Fatalf("%d connections on the server, want %d", got, n)
	}
	echoAll(t, conns, 1)

	slow := conns[0]
	sent, done := stall(t, slow)
	if sent < slowMessages {
		t.Logf("the slow socket's writer is held back after %d of %d messages", sent, slowMessages)
	} else {
		t.Fatalf("the slow socket's writer sent all %d messages with nothing read: no flow control", slowMessages)
	}
	echoAll(t, conns[1:], 2)
	for got := range slowMessages {
		f, err := slow.ReadFrame(10 * time.Second)
		if err != nil || len(f.Payload) != slowSize {
			t.Fatalf("slow stream, echo %d: %d bytes, %v", got, len(f.Payload), err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	conns[0].WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: []byte{0x03, 0xe8}})
	if f, err := conns[0].ReadFrame(5 * time.Second); err != nil || f.Opcode != rawclient.OpClose {
		t.Fatalf("close echo: %+v %v", f, err)
	}
	if err := conns[0].WaitClosed(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	conns[1].Close()
	echoAll(t, conns[2:], 3)
	for deadline := time.Now().Add(5 * time.Second); u.Stats().Conns != n-2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections on the server, want %d", u.Stats().Conns, n-2)
		}
	}
	for _, c := range conns[2:] {
		c.Close()
	}
}

// TestStalledStreamH2Defaults shows why the README recommends
// streamWindows: with net/http's default windows, once one socket's
// handler is stuck writing to a peer that does not read, the socket's
// unread input fills the connection's receive window and another socket on
// the same connection gets nothing through. If this test fails, net/http
// changed its defaults and the README's advice needs another look.
func TestStalledStreamH2Defaults(t *testing.T) {
	if !routertest.XConnect(t, true) {
		return
	}
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	h2, err := rawclient.DialH2(routertest.ServeH2(t, u, gwshttp.Handler(u, wstest.Echo{}), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	slow, _, err := h2.Dial("/", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := h2.Dial("/", nil)
	if err != nil {
		t.Fatal(err)
	}
	stall(t, slow)
	if err := other.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: []byte("anyone?")}); err != nil {
		t.Fatal(err)
	}
	if f, err := other.ReadFrame(time.Second); err == nil {
		t.Fatalf("another socket echoed %q while one stream held the connection's window", f.Payload)
	}
}

// slowMessages of slowSize bytes are what stall sends.
const (
	slowMessages = 128
	slowSize     = 64 << 10
)

// stall sends slowMessages binary messages of slowSize bytes on c without
// reading any echo, until flow control stops the writer: once no message
// has gone out for 300 ms. It returns how many went out, and a channel
// that receives the writer's result once it has sent them all.
func stall(t *testing.T, c *rawclient.Conn) (int64, <-chan error) {
	t.Helper()
	var sent atomic.Int64
	done := make(chan error, 1)
	chunk := bytes.Repeat([]byte("s"), slowSize)
	go func() {
		for range slowMessages {
			if err := c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpBinary, Payload: chunk}); err != nil {
				done <- err
				return
			}
			sent.Add(1)
		}
		done <- nil
	}()
	last, still := int64(-1), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n := sent.Load(); n != last {
			last, still = n, time.Now()
		} else if time.Since(still) > 300*time.Millisecond {
			return n, done
		}
	}
	t.Fatalf("the writer never stopped: %d messages sent", sent.Load())
	return 0, nil
}

// echoAll sends one message on each of conns at once and checks each
// echo.
func echoAll(t *testing.T, conns []*rawclient.Conn, round int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	for i, c := range conns {
		wg.Go(func() {
			msg := fmt.Sprintf("round %d stream %d", round, i)
			if err := c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: []byte(msg)}); err != nil {
				errs <- err
				return
			}
			f, err := c.ReadFrame(5 * time.Second)
			if err == nil && string(f.Payload) != msg {
				err = fmt.Errorf("stream %d echoed %q, want %q", i, f.Payload, msg)
			}
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHTTP2Off: without GODEBUG=http2xconnect=1 the server does not
// advertise extended CONNECT, so a client cannot open a stream (net/http's
// client says so at once, no hang); an HTTP/2 request to the route gets a
// 400 saying why; and HTTP/1.1 upgrades work as before.
func TestHTTP2Off(t *testing.T) {
	if !routertest.XConnect(t, false) {
		return
	}
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	addr := routertest.ServeH2(t, u, gwshttp.Handler(u, wstest.Echo{}), nil)
	h2, err := rawclient.DialH2(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	start := time.Now()
	if _, _, err := h2.Dial("/", nil); err == nil || !strings.Contains(err.Error(), "extended connect not supported") {
		t.Fatalf("extended CONNECT without the setting: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the refusal took %v", d)
	}

	insecure := &tls.Config{InsecureSkipVerify: true}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: insecure, ForceAttemptHTTP2: true}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("https://" + addr + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "extended CONNECT") {
		t.Fatalf("HTTP/%d GET: %s %q, want HTTP/2 400 naming extended CONNECT", resp.ProtoMajor, resp.Status, body)
	}

	l := make(chan string, 4)
	c, resp, err := gws.Dial(context.Background(), "wss://"+addr+"/ws", recorder(l),
		&gws.ClientOptions{HTTP2: true, TLSConfig: insecure})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("Dial with HTTP2 against a server without extended CONNECT: %s, want a 101 over HTTP/1.1", resp.Status)
	}
	c.WriteString("over 1.1")
	if got := <-l; got != "over 1.1" {
		t.Fatalf("echo %q", got)
	}
	c.WriteClose(gws.CloseNormal, nil)
	<-c.Context.Done()
}

// recorder is a client handler that passes each message on.
type recorder chan string

func (r recorder) OnOpen(*gws.Conn)                      {}
func (r recorder) OnClose(*gws.Conn, gws.Code, []byte)   {}
func (r recorder) OnError(*gws.Conn, error)              {}
func (r recorder) OnPing(*gws.Conn, []byte)              {}
func (r recorder) OnPong(*gws.Conn, []byte)              {}
func (r recorder) OnMessage(c *gws.Conn, m *gws.Message) { r <- string(m.Bytes()); m.Close() }
