package gws

import (
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/gwsgo/gws/core/internal/frame"
)

// echoHandler is the leanest handler: echo and give the buffer back.
type echoHandler struct{}

func (echoHandler) OnOpen(*Conn)                  {}
func (echoHandler) OnClose(*Conn, Code, []byte)   {}
func (echoHandler) OnError(*Conn, error)          {}
func (echoHandler) OnPing(*Conn, []byte)          {}
func (echoHandler) OnPong(*Conn, []byte)          {}
func (echoHandler) OnMessage(c *Conn, m *Message) { c.Write(m.Opcode, m.Bytes()); m.Close() }

// BenchmarkEcho measures a full round trip over loopback: the client writes
// a masked frame, the server reads, dispatches through the middleware chain,
// echoes, and the client reads the reply. allocs/op counts both sides; the
// client allocates nothing, so it is the server's read→handle→write path.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			u := &Upgrader{}
			u.Use(func(s *Conn, m *Message) { m.Next(s) })
			addr := serve(b, u, echoHandler{})
			c := connect(b, addr)
			req := encode(0x80|frame.OpBinary, make([]byte, size))
			reply := make([]byte, frame.Size(int64(size), false)+size)
			roundTrip := func() {
				if _, err := c.nc.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c.br, reply); err != nil {
					b.Fatal(err)
				}
			}
			for range 100 {
				roundTrip() // warm the pools
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				roundTrip()
			}
			b.StopTimer()
			c.nc.(*net.TCPConn).Close()
		})
	}
}
