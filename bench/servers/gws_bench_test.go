//go:build !nogws

package servers

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
)

// BenchmarkGwsBroadcast is the broadcast server's work for one message,
// Broadcaster over Sessions as in gwsBroadcast, to n connections whose
// sockets are /dev/null, which takes every write at once: what it measures
// is gws's side alone, and whether its allocations grow with n. (A process
// here may hold 20,000 descriptors, too few for 10,000 loopback pairs.)
func BenchmarkGwsBroadcast(b *testing.B) {
	payload := make([]byte, 16)
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Skip(err)
			}
			defer null.Close()
			u := &gws.Upgrader{}
			h := &gwsBroadcast{}
			conns := make([]*gws.Conn, n)
			for i := range conns {
				conns[i] = u.NewConn(sinkConn{null}, nil, nil, nil, gws.NopHandler{})
				h.sessions.Store(conns[i], conns[i])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.broadcast(gws.OpcodeBinary, payload)
			}
		})
	}
}

// sinkConn is a net.Conn that writes to a file and never reads.
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
