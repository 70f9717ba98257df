package gws

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

func TestEchoSizes(t *testing.T) {
	addr := serve(t, &Upgrader{}, newRecorder())
	c := connect(t, addr)
	for _, n := range []int{0, 1, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 300000} {
		p := bytes.Repeat([]byte{'x'}, n)
		c.send(0x80|frame.OpText, p)
		c.expect(frame.OpText, p)
		c.send(0x80|frame.OpBinary, p)
		c.expect(frame.OpBinary, p)
	}
	c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	c.expectClose(CloseNormal)
}

func TestFragmentsWithControlFramesBetween(t *testing.T) {
	rec := newRecorder()
	addr := serve(t, &Upgrader{}, rec)
	c := connect(t, addr)
	c.send(frame.OpText, []byte("Hello, "))
	c.send(0x80|frame.OpPing, []byte("are you there"))
	c.expect(frame.OpPong, []byte("are you there"))
	c.send(frame.OpContinuation, []byte("κό"))
	c.send(0x80|frame.OpPong, []byte("unsolicited"))
	c.send(0x80|frame.OpContinuation, []byte("σμε"))
	c.expect(frame.OpText, []byte("Hello, κόσμε"))
	c.send(0x80|frame.OpClose, closePayload(CloseGoingAway, "bye"))
	c.expectClose(CloseGoingAway)
	rec.waitClosed(t)
	want := []string{"open", "ping are you there", "pong unsolicited", "message 1 17", "close 1001"}
	if got := rec.log(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if rec.reason != "bye" {
		t.Fatalf("reason %q", rec.reason)
	}
}

// TestProtocolViolations sends each kind of bad frame and checks the close
// code, that OnError comes before OnClose, and that TCP is closed.
func TestProtocolViolations(t *testing.T) {
	unmasked := func() []byte {
		b := make([]byte, 2+3)
		frame.Encode(b, frame.Header{Fin: true, Opcode: frame.OpText, Length: 3})
		copy(b[2:], "abc")
		return b
	}
	cases := []struct {
		name  string
		wire  []byte
		code  Code
		cause error
	}{
		{"unmasked", unmasked(), CloseProtocolError, errProtocol},
		{"rsv1", encode(0x80|frame.Rsv1|frame.OpText, []byte("a")), CloseProtocolError, errProtocol},
		{"rsv3", encode(0x80|frame.Rsv3|frame.OpBinary, nil), CloseProtocolError, errProtocol},
		{"opcode 3", encode(0x80|3, nil), CloseProtocolError, errProtocol},
		{"opcode 11", encode(0x80|11, nil), CloseProtocolError, errProtocol},
		{"fragmented ping", encode(frame.OpPing, []byte("a")), CloseProtocolError, errProtocol},
		{"ping over 125", encode(0x80|frame.OpPing, make([]byte, 126)), CloseProtocolError, errProtocol},
		{"lone continuation", encode(0x80|frame.OpContinuation, []byte("a")), CloseProtocolError, errProtocol},
		{"text inside text", append(encode(frame.OpText, []byte("a")), encode(0x80|frame.OpText, []byte("b"))...), CloseProtocolError, errProtocol},
		{"bad utf8", encode(0x80|frame.OpText, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")), CloseInvalidPayload, errInvalidUTF8},
		{"utf8 cut at end", encode(0x80|frame.OpText, []byte("ab\xe2\x82")), CloseInvalidPayload, errInvalidUTF8},
		{"close 1 byte", encode(0x80|frame.OpClose, []byte{3}), CloseProtocolError, errProtocol},
		{"close code 999", encode(0x80|frame.OpClose, closePayload(999, "")), CloseProtocolError, errProtocol},
		{"close code 1005", encode(0x80|frame.OpClose, closePayload(1005, "")), CloseProtocolError, errProtocol},
		{"close code 5000", encode(0x80|frame.OpClose, closePayload(5000, "")), CloseProtocolError, errProtocol},
		{"close reason not utf8", encode(0x80|frame.OpClose, closePayload(1000, "\xff")), CloseInvalidPayload, errInvalidUTF8},
		{"too big", encode(0x80|frame.OpBinary, make([]byte, 1025)), CloseMessageTooBig, errMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{ReadMaxPayloadSize: 1024}}, rec)
			c := connect(t, addr)
			c.nc.Write(tc.wire)
			c.expectClose(tc.code)
			rec.waitClosed(t)
			if got := rec.log(); !slices.Equal(got, []string{"open", "error", fmt.Sprintf("close %d", tc.code)}) {
				t.Fatalf("events %q", got)
			}
			if !errors.Is(rec.errs[0], tc.cause) {
				t.Fatalf("OnError got %v, want %v", rec.errs[0], tc.cause)
			}
		})
	}
}

// TestTooBigRefusedFromHeader declares a 1 GiB frame and sends none of it:
// the limit must act on the header alone.
func TestTooBigRefusedFromHeader(t *testing.T) {
	addr := serve(t, &Upgrader{}, newRecorder())
	c := connect(t, addr)
	b := make([]byte, frame.MaxHeaderSize)
	n := frame.Encode(b, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: 1 << 30})
	c.nc.Write(b[:n])
	c.expectClose(CloseMessageTooBig)
}

// TestFragmentedTooBig checks the limit across fragments.
func TestFragmentedTooBig(t *testing.T) {
	addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{ReadMaxPayloadSize: 1000}}, newRecorder())
	c := connect(t, addr)
	c.send(frame.OpBinary, make([]byte, 600))
	c.send(0x80|frame.OpContinuation, make([]byte, 600))
	c.expectClose(CloseMessageTooBig)
}

// TestInvalidUTF8FailsFast sends a bad first fragment and nothing more: the
// server must not wait for the rest of the message.
func TestInvalidUTF8FailsFast(t *testing.T) {
	addr := serve(t, &Upgrader{}, newRecorder())
	c := connect(t, addr)
	c.send(frame.OpText, []byte("valid, then \xed\xa0\x80"))
	c.expectClose(CloseInvalidPayload)
}

func TestSkipUTF8Validation(t *testing.T) {
	addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{SkipUTF8Validation: true}}, newRecorder())
	c := connect(t, addr)
	c.send(0x80|frame.OpText, []byte("\xff"))
	c.expect(frame.OpText, []byte("\xff"))
}

func TestCloseWithoutPayload(t *testing.T) {
	rec := newRecorder()
	addr := serve(t, &Upgrader{}, rec)
	c := connect(t, addr)
	c.send(0x80|frame.OpClose, nil)
	h, p, err := c.read()
	if err != nil || h.Opcode != frame.OpClose || len(p) != 0 {
		t.Fatalf("got %+v %q %v, want an empty close frame", h, p, err)
	}
	c.expectEOF()
	rec.waitClosed(t)
	if rec.code != CloseNoStatus {
		t.Fatalf("OnClose code %d, want 1005", rec.code)
	}
}

func TestAbnormalClosure(t *testing.T) {
	rec := newRecorder()
	addr := serve(t, &Upgrader{}, rec)
	c := connect(t, addr)
	c.send(0x80|frame.OpText, []byte("hi"))
	c.expect(frame.OpText, []byte("hi"))
	c.nc.Close()
	rec.waitClosed(t)
	if got := rec.log(); !slices.Equal(got, []string{"open", "message 1 2", "error", "close 1006"}) {
		t.Fatalf("events %q", got)
	}
}

// serverSide is a handler that hands its Conn to the test.
type serverSide struct {
	*recorder
	conns chan *Conn
}

func (s serverSide) OnOpen(c *Conn) {
	s.recorder.OnOpen(c)
	s.conns <- c
}

func TestServerInitiatedClose(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, &Upgrader{}, h)
	c := connect(t, addr)
	conn := <-h.conns
	if err := conn.WriteClose(CloseGoingAway, []byte("restart")); err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteString("late"); !errors.Is(err, errClosed) {
		t.Fatalf("write after close: %v, want errClosed", err)
	}
	c.expect(frame.OpClose, closePayload(CloseGoingAway, "restart"))
	c.send(0x80|frame.OpClose, closePayload(CloseGoingAway, ""))
	c.expectEOF()
	h.waitClosed(t)
	if h.code != CloseGoingAway || slices.Contains(h.log(), "error") {
		t.Fatalf("code %d events %q", h.code, h.log())
	}
	select {
	case <-conn.Context.Done():
	default:
		t.Fatal("Context not cancelled after OnClose")
	}
}

// TestServerCloseTimeout checks that a peer which never answers a close
// frame is dropped after CloseTimeout.
func TestServerCloseTimeout(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{CloseTimeout: 100 * time.Millisecond}}, h)
	c := connect(t, addr)
	conn := <-h.conns
	conn.WriteClose(CloseNormal, nil)
	c.expect(frame.OpClose, closePayload(CloseNormal, ""))
	c.expectEOF()
	h.waitClosed(t)
	if h.code != CloseAbnormal {
		t.Fatalf("code %d, want 1006", h.code)
	}
}

func TestFirstFrameBehindHandshake(t *testing.T) {
	addr := serve(t, &Upgrader{}, newRecorder())
	// The frame travels in the same write as the request, so the HTTP
	// reader has it buffered when the connection is handed over.
	c, resp := dial(t, addr, "/ws", nil, encode(0x80|frame.OpText, []byte("early bird")))
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	c.expect(frame.OpText, []byte("early bird"))
}

func TestConcurrentWriters(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, &Upgrader{}, h)
	c := connect(t, addr)
	conn := <-h.conns
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				conn.WriteString(fmt.Sprintf("%d:%d:%s", w, i, strings.Repeat("z", i)))
			}
		})
	}
	last := make([]int, writers)
	for i := range last {
		last[i] = -1
	}
	for range writers * each {
		_, p, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		var w, i int
		var rest string
		if _, err := fmt.Sscanf(string(p), "%d:%d:%s", &w, &i, &rest); err != nil && i != 0 {
			t.Fatalf("garbled frame %q: %v", p, err)
		}
		if i != last[w]+1 || len(rest) != i {
			t.Fatalf("writer %d: message %d after %d (%q)", w, i, last[w], p)
		}
		last[w] = i
	}
	wg.Wait()
	c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	c.expectClose(CloseNormal)
}

func TestMiddlewareAndRecovery(t *testing.T) {
	var mu sync.Mutex
	var trace []string
	var reported []any
	note := func(s string) {
		mu.Lock()
		trace = append(trace, s)
		mu.Unlock()
	}
	u := &Upgrader{}
	u.Use(
		func(s *Conn, m *Message) { note("outer in"); m.Next(s); note("outer out") },
		Recovery(func(e any) { mu.Lock(); reported = append(reported, e); mu.Unlock() }),
		func(s *Conn, m *Message) {
			if string(m.Bytes()) == "boom" {
				panic("boom")
			}
			m.Next(s)
		},
	)
	rec := newRecorder()
	addr := serve(t, u, rec)
	c := connect(t, addr)
	c.send(0x80|frame.OpText, []byte("boom"))
	c.send(0x80|frame.OpText, []byte("fine"))
	c.expect(frame.OpText, []byte("fine"))
	c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	c.expectClose(CloseNormal)
	rec.waitClosed(t)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(trace, []string{"outer in", "outer out", "outer in", "outer out"}) || len(reported) != 1 || reported[0] != "boom" {
		t.Fatalf("trace %q reported %v", trace, reported)
	}
}

func TestStorageAndContextFromHandshake(t *testing.T) {
	u := &Upgrader{CheckOrigin: func(r *Request) bool {
		r.Storage.Put("name", r.URL.Query().Get("name"))
		return true
	}}
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, u, h)
	c, _ := dial(t, addr, "/ws?name=caster", nil, nil)
	conn := <-h.conns
	if v, _ := conn.Storage.Get("name"); v != "caster" {
		t.Fatalf("Storage name %v", v)
	}
	c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	c.expectClose(CloseNormal)
	h.waitClosed(t)
	if conn.Context.Err() == nil {
		t.Fatal("Context not cancelled after the connection ended")
	}
}

// TestLastMessageThenFIN sends a message and closes in one go, so the data
// and the FIN can arrive together: the message must be handled and the
// end of the connection noticed, not waited on.
func TestLastMessageThenFIN(t *testing.T) {
	for range 20 {
		rec := newRecorder()
		addr := serve(t, &Upgrader{}, rec)
		c := connect(t, addr)
		c.nc.Write(encode(0x80|frame.OpBinary, []byte("last words")))
		c.nc.(*net.TCPConn).CloseWrite()
		rec.waitClosed(t)
		if got := rec.log(); !slices.Contains(got, "message 2 10") {
			t.Fatalf("events %q", got)
		}
		c.nc.Close()
	}
}

// firstOnly echoes the first message and then holds the read loop a while,
// so that whatever the peer sends meanwhile is reported by the poller
// before gws reads it; later messages get no reply.
type firstOnly struct {
	*recorder
	n int
}

func (h *firstOnly) OnMessage(c *Conn, m *Message) {
	h.n++
	h.add(fmt.Sprintf("message %d", h.n))
	if h.n == 1 {
		c.Write(m.Opcode, m.Bytes())
		time.Sleep(50 * time.Millisecond)
	}
	m.Close()
}

// TestLastMessageThenReset has the peer send a message and reset the
// connection while gws is busy, so that one poller wake-up covers both:
// the message is read, no write follows that would fail on the reset, and
// the end of the connection must still be noticed at once. (TCP_INQ does
// not count a reset, so the write that succeeded before is no proof that
// the socket is empty now.)
func TestLastMessageThenReset(t *testing.T) {
	for range 5 {
		h := &firstOnly{recorder: newRecorder()}
		addr := serve(t, &Upgrader{}, h)
		c := connect(t, addr)
		c.send(0x80|frame.OpBinary, []byte("first"))
		c.expect(frame.OpBinary, []byte("first"))
		c.send(0x80|frame.OpBinary, []byte("second"))
		c.nc.(*net.TCPConn).SetLinger(0)
		c.nc.Close()
		h.waitClosed(t)
	}
}

// TestLastMessageThenFINAfterReply is TestLastMessageThenFIN with a reply
// before: the message and the FIN arrive while gws is busy, after a write
// that succeeded, and the FIN must still be read.
func TestLastMessageThenFINAfterReply(t *testing.T) {
	for range 5 {
		h := &firstOnly{recorder: newRecorder()}
		addr := serve(t, &Upgrader{}, h)
		c := connect(t, addr)
		c.send(0x80|frame.OpBinary, []byte("first"))
		c.expect(frame.OpBinary, []byte("first"))
		c.send(0x80|frame.OpBinary, []byte("second"))
		c.nc.(*net.TCPConn).CloseWrite()
		h.waitClosed(t)
		if got := h.log(); !slices.Contains(got, "message 2") {
			t.Fatalf("events %q", got)
		}
	}
}

// A connection whose deadline passes while it waits for the peer ends
// with OnError (a timeout) and OnClose(1006), in goroutine mode and in
// poller mode, where a timer stands for the read the runtime would fail.
// A deadline moved ahead in time does not end it.
func TestSetDeadlineEndsIdleConnection(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, &Upgrader{}, h)
	c := connect(t, addr)
	conn := <-h.conns
	conn.SetDeadline(time.Now().Add(50 * time.Millisecond))
	conn.SetDeadline(time.Now().Add(time.Hour))
	time.Sleep(100 * time.Millisecond)
	c.send(0x81, []byte("still there"))
	c.expect(frame.OpText, []byte("still there"))
	start := time.Now()
	conn.SetDeadline(time.Now().Add(50 * time.Millisecond))
	h.waitClosed(t)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("ended after %v, before its deadline", d)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.code != CloseAbnormal || len(h.errs) != 1 || !errors.Is(h.errs[0], os.ErrDeadlineExceeded) {
		t.Fatalf("code %d, errors %v; want 1006 after a timeout", h.code, h.errs)
	}
}
