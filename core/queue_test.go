package gws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

func TestWriteAsyncKeepsOrder(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{WriteQueueMessages: 4096}}, h)
	c := connect(t, addr)
	conn := <-h.conns
	const n = 2000
	var failed atomic.Int64
	for i := range n {
		conn.WriteAsync(OpcodeText, fmt.Appendf(nil, "%d", i), func(err error) {
			if err != nil {
				failed.Add(1)
			}
		})
	}
	for i := range n {
		c.expect(frame.OpText, fmt.Appendf(nil, "%d", i))
	}
	if failed.Load() != 0 {
		t.Fatalf("%d callbacks reported errors", failed.Load())
	}
	c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	c.expectClose(CloseNormal)
}

// fillQueue writes 64 KiB messages with WriteAsync to a client that never
// reads, until a callback reports ErrWriteQueueFull or n writes are done.
func fillQueue(conn *Conn, n int) (full int64) {
	big := make([]byte, 64<<10)
	var wg sync.WaitGroup
	var fullCount atomic.Int64
	for range n {
		wg.Add(1)
		conn.WriteAsync(OpcodeBinary, big, func(err error) {
			if errors.Is(err, ErrWriteQueueFull) {
				fullCount.Add(1)
			}
			wg.Done()
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(200 * time.Millisecond):
	}
	return fullCount.Load()
}

func TestSlowConsumerDrop(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	u := &Upgrader{ServerOptions: &ServerOptions{WriteQueueMessages: 8, WriteTimeout: 300 * time.Millisecond}}
	addr := serve(t, u, h)
	c := connect(t, addr) // never reads
	conn := <-h.conns
	start := time.Now()
	full := fillQueue(conn, 400)
	if full == 0 || u.Stats().Dropped != full {
		t.Fatalf("%d callbacks saw ErrWriteQueueFull, Stats.Dropped %d", full, u.Stats().Dropped)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("WriteAsync under SlowDrop blocked the writer for %v", elapsed)
	}
	c.nc.Close()
	h.waitClosed(t)
}

func TestSlowConsumerBlock(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	u := &Upgrader{ServerOptions: &ServerOptions{
		WriteQueueMessages: 2, SlowConsumer: SlowBlock, SlowBlockTimeout: 100 * time.Millisecond, WriteTimeout: time.Second,
	}}
	addr := serve(t, u, h)
	connect(t, addr)
	conn := <-h.conns
	big := make([]byte, 256<<10)
	errc := make(chan error, 100)
	var blocked time.Duration
	for range 20 {
		start := time.Now()
		conn.WriteAsync(OpcodeBinary, big, func(err error) { errc <- err })
		blocked = max(blocked, time.Since(start))
	}
	if blocked < 100*time.Millisecond {
		t.Fatalf("a full queue under SlowBlock never made the writer wait (longest wait %v)", blocked)
	}
	var full int
	for range 20 {
		if errors.Is(<-errc, ErrWriteQueueFull) {
			full++
		}
	}
	if full == 0 {
		t.Fatal("no write gave up with ErrWriteQueueFull after SlowBlockTimeout")
	}
	h.waitClosed(t)
}

func TestSlowConsumerClose(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	u := &Upgrader{ServerOptions: &ServerOptions{WriteQueueMessages: 4, SlowConsumer: SlowClose}}
	addr := serve(t, u, h)
	connect(t, addr)
	conn := <-h.conns
	fillQueue(conn, 400)
	h.waitClosed(t)
	if h.code != ClosePolicyViolation || u.Stats().ClosedSlow != 1 || !errors.Is(h.errs[0], ErrWriteQueueFull) {
		t.Fatalf("code %d, ClosedSlow %d, errors %v", h.code, u.Stats().ClosedSlow, h.errs)
	}
}

// TestWriteTimeout checks that a synchronous Write to a peer that never
// reads gives up after WriteTimeout and ends the connection, for frames
// written whole and for large ones written without a copy.
func TestWriteTimeout(t *testing.T) {
	for _, size := range []int{4 << 10, 1 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			h := serverSide{newRecorder(), make(chan *Conn, 1)}
			addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{WriteTimeout: 200 * time.Millisecond}}, h)
			connect(t, addr)
			conn := <-h.conns
			payload := make([]byte, size)
			var err error
			for i := 0; i < 100<<20/size && err == nil; i++ {
				err = conn.Write(OpcodeBinary, payload)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("write to a stuck peer: %v, want a timeout", err)
			}
			h.waitClosed(t)
			if len(h.errs) == 0 {
				t.Fatal("OnError not called for the failed write")
			}
		})
	}
}

// TestWriteAfterBlockedWrite checks that the deadline a write put on the
// socket while the peer was slow does not fail a later write once it has
// passed: the deadline is only set when a write has to wait, and then
// kept ahead.
func TestWriteAfterBlockedWrite(t *testing.T) {
	const timeout = time.Second
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{WriteTimeout: timeout}}, h)
	c := connect(t, addr)
	conn := <-h.conns
	// The client reads nothing until a write is stuck on the full socket
	// (no write has finished for 50 ms); then it reads, the stuck write
	// goes through, and the writer stops.
	var writes atomic.Int64
	stop := make(chan struct{})
	waited := make(chan error, 1)
	go func() {
		payload := make([]byte, 4<<10)
		for {
			err := conn.Write(OpcodeBinary, payload)
			writes.Add(1)
			select {
			case <-stop:
				waited <- err
				return
			default:
			}
			if err != nil {
				waited <- err
				return
			}
		}
	}()
	for last := int64(-1); ; {
		time.Sleep(50 * time.Millisecond)
		n := writes.Load()
		if n == last {
			break
		}
		last = n
	}
	close(stop)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			if _, _, err := c.read(); err != nil {
				return
			}
		}
	}()
	if err := <-waited; err != nil {
		t.Fatalf("write that waited for a slow reader: %v", err)
	}
	// Past the deadline that write put on the socket.
	time.Sleep(timeout + timeout/4)
	if err := conn.Write(OpcodeBinary, []byte("later")); err != nil {
		t.Fatalf("write after the first deadline passed: %v", err)
	}
	conn.Close()
	<-drained
	h.waitClosed(t)
}

// gate is a handler whose OnMessage waits until released, counting how
// many run at once.
type gate struct {
	*recorder
	conns   chan *Conn
	release chan struct{}
	running atomic.Int64
	peak    atomic.Int64
	handled atomic.Int64
}

func newGate() *gate {
	return &gate{recorder: newRecorder(), conns: make(chan *Conn, 16), release: make(chan struct{})}
}

func (g *gate) OnOpen(c *Conn) {
	g.recorder.OnOpen(c)
	g.conns <- c
}

func (g *gate) OnMessage(c *Conn, m *Message) {
	n := g.running.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	<-g.release
	g.running.Add(-1)
	g.handled.Add(1)
	m.Close()
}

func TestParallelLimitAndBackPressure(t *testing.T) {
	g := newGate()
	u := &Upgrader{ServerOptions: &ServerOptions{ParallelEnabled: true, ParallelLimit: 4, ParallelQueueSize: 8}}
	addr := serve(t, u, g)
	c := connect(t, addr)
	before := runtime.NumGoroutine()
	// Flood: far more messages than workers and queue slots together.
	go func() {
		for range 500 {
			c.nc.Write(encode(0x80|frame.OpBinary, make([]byte, 100)))
		}
	}()
	time.Sleep(300 * time.Millisecond)
	if p := g.peak.Load(); p != 4 {
		t.Fatalf("peak concurrent handlers %d, want ParallelLimit 4", p)
	}
	if extra := runtime.NumGoroutine() - before; extra > 4+2 {
		t.Fatalf("%d more goroutines under a flood, want at most the 4 workers and the writer", extra)
	}
	if g.handled.Load() != 0 {
		t.Fatal("handlers ran past the gate")
	}
	close(g.release)
	deadline := time.Now().Add(10 * time.Second)
	for g.handled.Load() < 500 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g.handled.Load() != 500 {
		t.Fatalf("handled %d of 500 messages", g.handled.Load())
	}
	c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	c.expectClose(CloseNormal)
	g.waitClosed(t)
	log := g.log()
	if log[len(log)-1] != "close 1000" {
		t.Fatalf("OnClose is not the last event: %q", log[len(log)-5:])
	}
}

// TestParallelQueueStopsReading checks that a full queue stops the reader:
// with handlers blocked, the connection takes no more messages than the
// workers and the queue hold.
func TestParallelQueueStopsReading(t *testing.T) {
	g := newGate()
	u := &Upgrader{ServerOptions: &ServerOptions{ParallelEnabled: true, ParallelLimit: 2, ParallelQueueSize: 4}}
	addr := serve(t, u, g)
	c := connect(t, addr)
	conn := <-g.conns
	go func() {
		for range 200 {
			if _, err := c.nc.Write(encode(0x80|frame.OpBinary, make([]byte, 1000))); err != nil {
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	conn.pq.mu.Lock()
	queued := conn.pq.size
	conn.pq.mu.Unlock()
	if queued != 4 || g.running.Load() != 2 {
		t.Fatalf("queued %d, running %d; want the queue (4) full and both workers busy", queued, g.running.Load())
	}
	close(g.release)
	c.nc.Close()
	g.waitClosed(t)
}

func TestConcurrencyCapAcrossConnections(t *testing.T) {
	g := newGate()
	u := &Upgrader{ServerOptions: &ServerOptions{ParallelEnabled: true, ParallelLimit: 4, Concurrency: 3}}
	addr := serve(t, u, g)
	var clients []*client
	for range 4 {
		c := connect(t, addr)
		clients = append(clients, c)
		for range 4 {
			c.send(0x80|frame.OpBinary, []byte("x"))
		}
	}
	time.Sleep(300 * time.Millisecond)
	if p := g.peak.Load(); p != 3 {
		t.Fatalf("peak concurrent handlers %d across connections, want Concurrency 3", p)
	}
	close(g.release)
	for _, c := range clients {
		c.nc.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for u.Stats().Conns > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSessionsLeaveOnClose(t *testing.T) {
	var room Sessions[string]
	joined := make(chan *Conn, 2)
	u := &Upgrader{CheckOrigin: func(r *Request) bool {
		r.Storage.Put("name", r.URL.Query().Get("name"))
		return true
	}}
	h := &sessionHandler{recorder: newRecorder(), room: &room, joined: joined}
	addr := serve(t, u, h)
	first, _ := dial(t, addr, "/ws?name=ann", nil, nil)
	c1 := <-joined
	second, _ := dial(t, addr, "/ws?name=ann", nil, nil)
	c2 := <-joined
	if got, _ := room.Load("ann"); got != c2 || room.Len() != 1 {
		t.Fatal("a newer connection under the same key must replace the older")
	}
	_ = c1
	first.nc.Close() // the replaced connection ending must not remove the newer one
	time.Sleep(100 * time.Millisecond)
	if got, _ := room.Load("ann"); got != c2 {
		t.Fatal("the replaced connection's end removed its successor")
	}
	second.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	second.expectClose(CloseNormal)
	<-h.closed
	if room.Len() != 0 {
		t.Fatal("entry still there after its connection closed")
	}
	if room.Store("late", c2) != nil || room.Len() != 0 {
		t.Fatal("a connection that has ended was stored")
	}
}

type sessionHandler struct {
	*recorder
	room   *Sessions[string]
	joined chan *Conn
	once   sync.Once
}

func (h *sessionHandler) OnOpen(c *Conn) {
	name, _ := c.Storage.Get("name")
	h.room.Store(name.(string), c)
	h.joined <- c
}

func (h *sessionHandler) OnClose(c *Conn, code Code, reason []byte) {
	if h.room.Len() == 0 {
		h.once.Do(func() { close(h.closed) })
	}
}

func TestBroadcastToThousands(t *testing.T) {
	const n = 2000
	var room Sessions[int]
	var next atomic.Int64
	joined := make(chan struct{}, n)
	h := &broadcastRoom{recorder: newRecorder(), room: &room, next: &next, joined: joined}
	u := &Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true, CompressThreshold: 64}}
	addr := serve(t, u, h)
	clients := make([]*client, n)
	for i := range clients {
		offer := []string{}
		if i%2 == 0 {
			offer = append(offer, "Sec-WebSocket-Extensions: permessage-deflate")
		}
		clients[i] = connect(t, addr, offer...)
		<-joined
	}
	payload := bytes.Repeat([]byte("broadcast "), 100)
	b := NewBroadcaster(OpcodeText, payload)
	room.Range(func(_ int, c *Conn) bool { b.Broadcast(c); return true })
	encoded := 0
	for _, f := range b.frames {
		if f != nil {
			encoded++
		}
	}
	if encoded != 2 {
		t.Fatalf("%d encodings for %d connections, want 2 (plain and deflate)", encoded, n)
	}
	b.Close()
	d := newDeflater(false)
	for i, c := range clients {
		c.expectMessage(d, frame.OpText, payload, i%2 == 0)
		c.nc.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for u.Stats().Conns > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

type broadcastRoom struct {
	*recorder
	room   *Sessions[int]
	next   *atomic.Int64
	joined chan struct{}
}

func (h *broadcastRoom) OnOpen(c *Conn) {
	h.room.Store(int(h.next.Add(1)), c)
	h.joined <- struct{}{}
}
func (h *broadcastRoom) OnClose(*Conn, Code, []byte) {}

func TestHeartbeat(t *testing.T) {
	h := &countingCloses{recorder: newRecorder()}
	u := &Upgrader{ServerOptions: &ServerOptions{PingInterval: 50 * time.Millisecond, PingTimeout: 150 * time.Millisecond}}
	addr := serve(t, u, h)
	alive := connect(t, addr)
	silent := connect(t, addr)
	// alive answers every ping for a while.
	deadline := time.Now().Add(600 * time.Millisecond)
	pings := 0
	for time.Now().Before(deadline) {
		hd, p, err := alive.read()
		if err != nil {
			t.Fatalf("the answering client was dropped: %v", err)
		}
		if hd.Opcode == frame.OpPing {
			pings++
			alive.send(0x80|frame.OpPong, p)
		}
	}
	if pings < 5 {
		t.Fatalf("%d pings in 600 ms at a 50 ms interval", pings)
	}
	// silent never answered: it was dropped.
	silent.nc.SetReadDeadline(time.Now().Add(time.Second))
	for {
		hd, _, err := silent.read()
		if err != nil {
			break
		}
		if hd.Opcode != frame.OpPing {
			t.Fatalf("unexpected frame %d", hd.Opcode)
		}
	}
	if u.Stats().Conns != 1 {
		t.Fatalf("%d connections left, want only the answering one", u.Stats().Conns)
	}
	alive.nc.Close()
}

func TestShutdown(t *testing.T) {
	h := newRecorder()
	u := &Upgrader{ServerOptions: &ServerOptions{CloseTimeout: time.Second}}
	addr := serve(t, u, &countingCloses{recorder: h})
	const n = 20
	clients := make([]*client, n)
	stop := make(chan struct{})
	var senders sync.WaitGroup
	for i := range clients {
		clients[i] = connect(t, addr)
		c := clients[i]
		senders.Go(func() {
			// Keep sending until the close frame arrives, then answer it.
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.nc.Write(encode(0x80|frame.OpText, []byte("still here"))); err != nil {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	readers := make(chan Code, n)
	for _, c := range clients {
		go func() {
			for {
				hd, p, err := c.read()
				if err != nil {
					readers <- 0
					return
				}
				if hd.Opcode == frame.OpClose {
					c.nc.Write(encode(0x80|frame.OpClose, p[:2]))
					readers <- Code(p[0])<<8 | Code(p[1])
					return
				}
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	close(stop)
	senders.Wait()
	for range n {
		if code := <-readers; code != CloseGoingAway {
			t.Fatalf("a client got close code %d, want 1001", code)
		}
	}
	if u.Stats().Conns != 0 {
		t.Fatal("connections left after Shutdown")
	}
	_, resp := dial(t, addr, "/ws", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("handshake after Shutdown: %d, want 503", resp.StatusCode)
	}
}

func TestShutdownDropsUnresponsive(t *testing.T) {
	h := &countingCloses{recorder: newRecorder()}
	u := &Upgrader{}
	addr := serve(t, u, h)
	for range 5 {
		connect(t, addr) // never answers the close frame
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := u.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the deadline", err)
	}
	if h.closes.Load() != 5 || u.Stats().Conns != 0 {
		t.Fatalf("%d OnClose, %d connections left", h.closes.Load(), u.Stats().Conns)
	}
}

type countingCloses struct {
	*recorder
	closes atomic.Int64
}

func (h *countingCloses) OnClose(*Conn, Code, []byte) { h.closes.Add(1) }

func TestBroadcastToEndedConnection(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, &Upgrader{}, h)
	c := connect(t, addr)
	conn := <-h.conns
	b := NewBroadcaster(OpcodeText, []byte("hello"))
	defer b.Close()
	if err := b.Broadcast(conn); err != nil {
		t.Fatalf("Broadcast to a live connection: %v", err)
	}
	c.expect(frame.OpText, []byte("hello"))
	c.nc.Close()
	h.waitClosed(t)
	if err := b.Broadcast(conn); !errors.Is(err, errClosed) {
		t.Fatalf("Broadcast to an ended connection: %v, want errClosed", err)
	}
}

// TestWriteAsyncAfterCongestion checks that the write deadline a congested
// socket got does not fail a WriteAsync long after the congestion is over:
// a frame written at once from the caller's goroutine must keep the
// deadline ahead as every other write does.
func TestWriteAsyncAfterCongestion(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	u := &Upgrader{ServerOptions: &ServerOptions{WriteTimeout: 200 * time.Millisecond, WriteQueueBytes: 64 << 20}}
	addr := serve(t, u, h)
	c := connect(t, addr)
	conn := <-h.conns
	big := make([]byte, 64<<10)
	const n = 200 // more than the socket buffers hold
	for range n {
		conn.WriteAsync(OpcodeBinary, big, nil)
	}
	for range n {
		c.expect(frame.OpBinary, big)
	}
	time.Sleep(300 * time.Millisecond) // past the deadline the congestion set
	done := make(chan error, 1)
	conn.WriteAsync(OpcodeText, []byte("later"), func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatalf("WriteAsync after the congestion: %v", err)
	}
	c.expect(frame.OpText, []byte("later"))
	c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	c.expectClose(CloseNormal)
}
