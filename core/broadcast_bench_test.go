package gws

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

// BenchmarkBroadcast measures one broadcast of a 1 KiB text message to n
// connections kept in a Sessions registry: encoding, queueing on every
// connection and writing it to every socket, until the shared frame is
// released; allocs/op should not grow with n.
//
// "loopback" uses real TCP connections whose client sides drain their
// sockets on goroutines of their own. A process here may hold 20,000
// descriptors, too few for 10,000 connections with both ends in one
// process, so "sink" puts n connections over /dev/null, which takes every
// write at once: that measures gws's side of a broadcast alone.
func BenchmarkBroadcast(b *testing.B) {
	payload := make([]byte, 1<<10)
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("sink/%d", n), func(b *testing.B) {
			// One /dev/null each, as sockets are: writers sharing one
			// file would queue on its lock.
			u := &Upgrader{}
			conns := make([]*Conn, n)
			for i := range conns {
				null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				if err != nil {
					b.Skip(err)
				}
				defer null.Close()
				conns[i] = newConn(u.group(), sinkConn{null}, nil, nil, nil, echoHandler{}, true)
				u.group().track(conns[i])
			}
			benchmarkBroadcast(b, conns, payload)
			for _, c := range conns {
				u.group().untrack(c)
			}
		})
	}
	b.Run("loopback/1000", func(b *testing.B) {
		const n = 1000
		h := &collector{conns: make(chan *Conn, n)}
		addr := serve(b, &Upgrader{}, h)
		var drains sync.WaitGroup
		for range n {
			nc := idleClient(b, addr, "", encode(0x80|frame.OpText, nil))
			drains.Go(func() { io.Copy(io.Discard, nc) })
			b.Cleanup(func() { nc.Close() })
		}
		conns := make([]*Conn, n)
		for i := range conns {
			conns[i] = <-h.conns
		}
		benchmarkBroadcast(b, conns, payload)
		for _, c := range conns {
			c.Close()
		}
		drains.Wait()
	})
}

func benchmarkBroadcast(b *testing.B, conns []*Conn, payload []byte) {
	var room Sessions[int]
	for i, c := range conns {
		room.Store(i, c)
	}
	broadcast := func() {
		bc := NewBroadcaster(OpcodeText, payload)
		room.Range(func(_ int, c *Conn) bool {
			bc.Broadcast(c)
			return true
		})
		bc.Close()
		for bc.refs.Load() > 0 {
			runtime.Gosched()
		}
	}
	for range 3 {
		broadcast()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		broadcast()
	}
	b.StopTimer()
}

// sinkConn is a connection over /dev/null: every write succeeds at once.
type sinkConn struct{ f *os.File }

func (s sinkConn) Read([]byte) (int, error)              { return 0, io.EOF }
func (s sinkConn) Write(p []byte) (int, error)           { return s.f.Write(p) }
func (s sinkConn) Close() error                          { return nil }
func (s sinkConn) LocalAddr() net.Addr                   { return &net.TCPAddr{} }
func (s sinkConn) RemoteAddr() net.Addr                  { return &net.TCPAddr{} }
func (s sinkConn) SetDeadline(time.Time) error           { return nil }
func (s sinkConn) SetReadDeadline(time.Time) error       { return nil }
func (s sinkConn) SetWriteDeadline(time.Time) error      { return nil }
func (s sinkConn) SyscallConn() (syscall.RawConn, error) { return s.f.SyscallConn() }

// collector hands each new connection to the benchmark.
type collector struct {
	echoHandler
	conns chan *Conn
}

func (h *collector) OnOpen(c *Conn) { h.conns <- c }

// BenchmarkDispatch compares handing messages to the handler on the read
// goroutine (the default) with the parallel queue, over loopback.
func BenchmarkDispatch(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "inorder"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			benchmarkEcho(b, &ServerOptions{ParallelEnabled: parallel}, 1<<10)
		})
	}
}

// TestBroadcastModes checks how Broadcast chooses between writing from the
// caller and queueing for the drainers: a broadcast alone writes, one that
// begins while an earlier one is under way queues, one after the last has
// been written writes again, and one made while a connection handles a
// message with more waiting behind it queues.
func TestBroadcastModes(t *testing.T) {
	h := &collector{conns: make(chan *Conn, 2)}
	u := &Upgrader{}
	addr := serve(t, u, h)
	for range 2 {
		nc := idleClient(t, addr, "", encode(0x80|frame.OpText, nil))
		go io.Copy(io.Discard, nc)
		t.Cleanup(func() { nc.Close() })
	}
	conns := []*Conn{<-h.conns, <-h.conns}
	send := func(b *Broadcaster) {
		for _, c := range conns {
			if err := b.Broadcast(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := NewBroadcaster(OpcodeText, []byte("first"))
	send(first)
	second := NewBroadcaster(OpcodeText, []byte("second"))
	send(second) // first is not closed yet: still under way
	first.Close()
	second.Close()
	for second.refs.Load() > 0 || first.refs.Load() > 0 {
		runtime.Gosched()
	}
	third := NewBroadcaster(OpcodeText, []byte("third"))
	send(third)
	third.Close()
	u.group().backlog.Add(1) // as handleBacklogged does
	fourth := NewBroadcaster(OpcodeText, []byte("fourth"))
	send(fourth)
	fourth.Close()
	u.group().backlog.Add(-1)
	got := []int32{first.mode.Load(), second.mode.Load(), third.mode.Load(), fourth.mode.Load()}
	if want := []int32{writeInline, writeQueued, writeInline, writeQueued}; !slices.Equal(got, want) {
		t.Fatalf("modes %v, want %v (inline %d, queued %d)", got, want, writeInline, writeQueued)
	}
	for _, c := range conns {
		c.Close()
	}
}
