package gws

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
			benchmarkEcho(b, nil, size)
		})
	}
}

// BenchmarkEchoPoller is BenchmarkEcho in poller mode: the worker that
// serves the connection is woken through gws's epoll set instead of the
// connection's own goroutine through the runtime's poller. Compare it with
// BenchmarkEcho in the same run (cpu-ns/op).
func BenchmarkEchoPoller(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			benchmarkEcho(b, &ServerOptions{Poller: true}, size)
		})
	}
}

// BenchmarkEchoObserved is BenchmarkEcho with metrics on: every message's
// handler is timed and the time goes into a histogram, as the metrics
// modules do. Compare it with BenchmarkEcho in the same run.
func BenchmarkEchoObserved(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			var h histogram
			benchmarkEchoWith(b, &Upgrader{ObserveHandler: h.observe}, size)
			if h.count() < uint64(b.N) {
				b.Fatalf("%d messages observed, want at least %d", h.count(), b.N)
			}
		})
	}
}

// histogram counts durations in fixed buckets with atomics, as a
// Prometheus histogram does.
type histogram struct {
	buckets [12]atomic.Uint64
	sum     atomic.Int64
}

func (h *histogram) observe(_ *Conn, d time.Duration) {
	i := 0
	for bound := time.Microsecond; i < len(h.buckets)-1 && d > bound; bound *= 4 {
		i++
	}
	h.buckets[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) count() (n uint64) {
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

func benchmarkEcho(b *testing.B, opts *ServerOptions, size int) {
	benchmarkEchoWith(b, &Upgrader{ServerOptions: opts}, size)
}

func benchmarkEchoWith(b *testing.B, u *Upgrader, size int) {
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
	cpu := cpuTime()
	for b.Loop() {
		roundTrip()
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	b.StopTimer()
	c.nc.(*net.TCPConn).Close()
}

// BenchmarkCompressedEcho measures a compressed round trip of text: the
// server inflates the client's message and deflates its echo. The client
// sends one pre-compressed message (it compresses each message alone) and
// reads the reply without inflating it, so the figures are the server's.
func BenchmarkCompressedEcho(b *testing.B) {
	text := []byte(strings.Repeat(`{"user":"caster","text":"Hello! I am caster","seq":12345,"tags":["chat","greeting"]} `, 800))
	for _, ctx := range []bool{false, true} {
		for _, size := range []int{1 << 10, 64 << 10} {
			name := fmt.Sprintf("%dKiB/context=%v", size>>10, ctx)
			b.Run(name, func(b *testing.B) {
				opts := &ServerOptions{CompressEnabled: true, ServerContextTakeover: ctx}
				addr := serve(b, &Upgrader{ServerOptions: opts}, echoHandler{})
				c := connect(b, addr, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover")
				req := encode(0x80|frame.Rsv1|frame.OpText, newDeflater(false).compress(text[:size]))
				reply := make([]byte, 0, 2*size)
				hb := make([]byte, frame.MaxHeaderSize)
				roundTrip := func() {
					if _, err := c.nc.Write(req); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c.br, hb[:2]); err != nil {
						b.Fatal(err)
					}
					n := frame.HeaderLen(hb[1])
					io.ReadFull(c.br, hb[2:n])
					h, _, _ := frame.Parse(hb[:n])
					if _, err := io.ReadFull(c.br, reply[:h.Length]); err != nil {
						b.Fatal(err)
					}
				}
				for range 100 {
					roundTrip()
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					roundTrip()
				}
				b.StopTimer()
				c.nc.Close()
			})
		}
	}
}
