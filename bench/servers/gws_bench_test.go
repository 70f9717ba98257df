//go:build !nogws

package servers

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
)

// BenchmarkGwsBroadcast is the broadcast server's work for one message,
// Broadcaster over Sessions as in gwsBroadcast, to n connections whose
// sockets are /dev/null, which takes every write at once: what it measures
// is gws's side alone, and whether its allocations grow with n. (A process
// here may hold 20,000 descriptors, too few for 10,000 loopback pairs but
// enough for one /dev/null each: sharing one file would have the writers
// queue on its lock, which sockets do not.)
// Broadcast leaves the writes to each connection's drainer, so every
// iteration waits until all n frames are written.
func BenchmarkGwsBroadcast(b *testing.B) {
	payload := make([]byte, 16)
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			u := &gws.Upgrader{}
			h := &gwsBroadcast{}
			var written atomic.Int64
			conns := make([]*gws.Conn, n)
			for i := range conns {
				null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				if err != nil {
					b.Skip(err)
				}
				defer null.Close()
				sink := sinkConn{null, &written, &sinkEnd{done: make(chan struct{})}}
				defer sink.Close()
				conns[i] = acceptSink(b, u, sink)
				h.sessions.Store(conns[i], conns[i])
			}
			// Each connection's first frame sizes its queue and its vector
			// for writev: warm up before timing.
			perRound := int64(n) * int64(2+len(payload))
			round := func() {
				want := written.Load() + perRound
				h.broadcast(gws.OpcodeBinary, payload)
				for written.Load() < want {
					runtime.Gosched()
				}
			}
			for range 3 {
				round()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				round()
			}
		})
	}
}

// acceptSink upgrades a handshake request onto s, as an adapter does on a
// hijacked connection.
func acceptSink(b *testing.B, u *gws.Upgrader, s sinkConn) *gws.Conn {
	r := httptest.NewRequest(http.MethodGet, "/broadcast", nil)
	r.Header = http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"},
		"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
	resp, err := u.Negotiate(gws.NewRequest(r))
	if err != nil {
		b.Fatal(err)
	}
	c, err := u.Accept(context.Background(), s, nil, resp, gws.NopHandler{})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// sinkConn is a net.Conn that writes to a file, counting the bytes, and
// reads nothing until it is closed.
type sinkConn struct {
	f       *os.File
	written *atomic.Int64
	end     *sinkEnd
}

// sinkEnd is closed once, by whichever comes first: the benchmark's
// cleanup, or gws ending the connection.
type sinkEnd struct {
	once sync.Once
	done chan struct{}
}

func (s sinkConn) Read([]byte) (int, error) { <-s.end.done; return 0, io.EOF }
func (s sinkConn) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.written.Add(int64(n))
	return n, err
}
func (s sinkConn) Close() error                     { s.end.once.Do(func() { close(s.end.done) }); return nil }
func (s sinkConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s sinkConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s sinkConn) SetDeadline(time.Time) error      { return nil }
func (s sinkConn) SetReadDeadline(time.Time) error  { return nil }
func (s sinkConn) SetWriteDeadline(time.Time) error { return nil }
func (s sinkConn) SyscallConn() (syscall.RawConn, error) {
	raw, err := s.f.SyscallConn()
	return sinkRaw{raw, s.end}, err
}

// sinkRaw writes to the file's descriptor and, like sinkConn, reads
// nothing until the connection is closed.
type sinkRaw struct {
	syscall.RawConn
	end *sinkEnd
}

func (r sinkRaw) Read(func(fd uintptr) bool) error { <-r.end.done; return io.EOF }
