package gws

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

// TestMain fails the run when a goroutine of gws outlives the tests. With
// GWS_TEST_POLLER set, every Upgrader runs in poller mode (see
// TestPollerMode).
func TestMain(m *testing.M) {
	pollerEverywhere = os.Getenv("GWS_TEST_POLLER") != ""
	code := m.Run()
	if code == 0 {
		if err := leakedGoroutines(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestPollerMode runs the tests this run selected once more, in a child
// process in which every Upgrader has ServerOptions.Poller on: everything
// they check of a server (events, close handling, deadlines, heartbeats,
// queues, Shutdown, compression, hostile clients) must hold in both modes.
// It doubles the package's time (some 30 s under the race detector on 2
// cores), the price of checking every behaviour in both modes.
func TestPollerMode(t *testing.T) {
	if pollerEverywhere {
		t.Skip("this is the run in poller mode")
	}
	if !pollerSupported {
		t.Skip("no poller on this system")
	}
	args := []string{"-test.count=1"}
	for _, name := range []string{"test.run", "test.skip", "test.short", "test.v", "test.timeout"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != f.DefValue {
			args = append(args, "-"+name+"="+f.Value.String())
		}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GWS_TEST_POLLER=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in poller mode: %v\n%s", err, out)
	}
	t.Logf("in poller mode:\n%s", out)
}

func leakedGoroutines() error {
	var stacks string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		leaked := false
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "gws/core.") && !strings.Contains(g, "leakedGoroutines") {
				leaked = true
			}
		}
		if !leaked {
			return nil
		}
	}
	return fmt.Errorf("goroutines leaked:\n%s", stacks)
}

// serve runs a bare-bones HTTP/1.1 server on 127.0.0.1:0 that hands every
// request to u, the way an adapter does, and returns its address. Cleanup
// closes the listener and waits for every connection to end (OnClose
// returned).
func serve(t testing.TB, u *Upgrader, h EventHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveConn(nc, u, h) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		waitEnded(t, u)
	})
	return ln.Addr().String()
}

// waitEnded waits until every connection of u has ended.
func waitEnded(t testing.TB, u *Upgrader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !u.group().waitAllGone(ctx) {
		t.Errorf("connections still open 10 s after the test")
	}
}

// serveConn reads the handshake request from nc and upgrades it, as an
// adapter for a server other than net/http does; it returns nil when the
// handshake was refused.
func serveConn(nc net.Conn, u *Upgrader, h EventHandler) *Conn {
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		nc.Close()
		return nil
	}
	r := NewRequest(req)
	resp, err := u.Negotiate(r)
	if err != nil {
		var he *HandshakeError
		errors.As(err, &he)
		fmt.Fprintf(nc, "HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s", he.StatusCode, http.StatusText(he.StatusCode), len(he.Reason), he.Reason)
		nc.Close()
		return nil
	}
	buffered, _ := br.Peek(br.Buffered())
	c, err := u.Accept(context.Background(), nc, buffered, resp, h)
	if err != nil {
		return nil
	}
	return c
}

// client is a raw WebSocket client for tests: it writes whatever frames a
// test asks for, valid or not.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

// dial sends an opening handshake for path with extra header lines, then
// tail in the same write, and reads the response.
func dial(t testing.TB, addr, path string, extra []string, tail []byte) (*client, *http.Response) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\n"
	for _, h := range extra {
		req += h + "\r\n"
	}
	if _, err := nc.Write(append([]byte(req+"\r\n"), tail...)); err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

// connect dials and requires the handshake to succeed.
func connect(t testing.TB, addr string, extra ...string) *client {
	t.Helper()
	c, resp := dial(t, addr, "/ws", extra, nil)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d", resp.StatusCode)
	}
	return c
}

// encode builds one masked client frame.
func encode(first byte, payload []byte) []byte {
	h := frame.Header{Fin: first&0x80 != 0, Rsv: first & 0x70, Opcode: first & 0x0f, Masked: true, Length: int64(len(payload))}
	rand.Read(h.Key[:])
	b := make([]byte, frame.Size(h.Length, true)+len(payload))
	n := frame.Encode(b, h)
	copy(b[n:], payload)
	frame.Mask(b[n:], h.Key, 0)
	return b
}

func (c *client) send(first byte, payload []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(encode(first, payload)); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next frame from the server.
func (c *client) read() (frame.Header, []byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hb [frame.MaxHeaderSize]byte
	if _, err := io.ReadFull(c.br, hb[:2]); err != nil {
		return frame.Header{}, nil, err
	}
	n := frame.HeaderLen(hb[1])
	if _, err := io.ReadFull(c.br, hb[2:n]); err != nil {
		return frame.Header{}, nil, err
	}
	h, _, err := frame.Parse(hb[:n])
	if err != nil {
		return h, nil, err
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(c.br, p)
	return h, p, err
}

func (c *client) expect(op byte, payload []byte) {
	c.t.Helper()
	h, p, err := c.read()
	if err != nil {
		c.t.Fatalf("reading frame: %v", err)
	}
	if h.Opcode != op || !h.Fin || h.Masked || !bytes.Equal(p, payload) {
		c.t.Fatalf("got opcode %d fin %v masked %v payload %.40q, want opcode %d payload %.40q", h.Opcode, h.Fin, h.Masked, p, op, payload)
	}
}

// expectClose reads the server's close frame, checks its code, and checks
// that the server then closes the TCP connection; then it closes its side.
func (c *client) expectClose(code Code) {
	c.t.Helper()
	h, p, err := c.read()
	if err != nil {
		c.t.Fatalf("reading close frame: %v", err)
	}
	if h.Opcode != frame.OpClose || len(p) < 2 || Code(binary.BigEndian.Uint16(p)) != code {
		c.t.Fatalf("got opcode %d payload %q, want close %d", h.Opcode, p, code)
	}
	c.expectEOF()
}

func (c *client) expectEOF() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := io.Copy(io.Discard, c.br); err != nil || n != 0 {
		c.t.Fatalf("want the server to close TCP, got %d more bytes, err %v", n, err)
	}
	c.nc.Close()
}

func closePayload(code Code, reason string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// recorder is an EventHandler that echoes messages and records events.
type recorder struct {
	once   sync.Once
	mu     sync.Mutex
	events []string
	errs   []error
	closed chan struct{}
	code   Code
	reason string
}

func newRecorder() *recorder { return &recorder{closed: make(chan struct{})} }

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) OnOpen(*Conn) { r.add("open") }
func (r *recorder) OnClose(c *Conn, code Code, reason []byte) {
	r.mu.Lock()
	r.code, r.reason = code, string(reason)
	r.mu.Unlock()
	r.add(fmt.Sprintf("close %d", code))
	r.once.Do(func() { close(r.closed) })
}
func (r *recorder) OnError(c *Conn, err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	r.add("error")
}
func (r *recorder) OnPing(c *Conn, p []byte) { r.add("ping " + string(p)) }
func (r *recorder) OnPong(c *Conn, p []byte) { r.add("pong " + string(p)) }
func (r *recorder) OnMessage(c *Conn, m *Message) {
	r.add(fmt.Sprintf("message %d %d", m.Opcode, len(m.Bytes())))
	c.Write(m.Opcode, m.Bytes())
	m.Close()
}

func (r *recorder) waitClosed(t testing.TB) {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called")
	}
}

func (r *recorder) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func anyOrigin(*Request) bool { return true }
