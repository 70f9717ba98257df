package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
	gwsotel "github.com/gwsgo/gws/observability/otel"
	gwsprom "github.com/gwsgo/gws/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// echo writes back every message and gives its buffer back.
type echo struct{ gws.NopHandler }

func (echo) OnMessage(c *gws.Conn, m *gws.Message) {
	c.Write(m.Opcode, m.Bytes())
	m.Close()
}

// BenchmarkEchoMetrics measures a loopback round trip as core's
// BenchmarkEcho does, with metrics off and with both modules on one
// Upgrader (every handler timed into a Prometheus and an OpenTelemetry
// histogram). Compare the two in one run: allocs/op is the server's, the
// client allocates nothing.
func BenchmarkEchoMetrics(b *testing.B) {
	for _, size := range []int{16, 1 << 10} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dB/metrics=%v", size, on), func(b *testing.B) {
				u := &gws.Upgrader{}
				if on {
					prometheus.NewRegistry().MustRegister(gwsprom.NewCollector(u, nil))
					provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
					defer provider.Shutdown(context.Background())
					if _, err := gwsotel.Instrument(u, provider, nil); err != nil {
						b.Fatal(err)
					}
				}
				addr := routertest.ServeHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					u.Upgrade(context.Background(), w, r, echo{})
				}))
				benchmarkEcho(b, addr, size)
				if on && u.Stats().MessagesReceived < int64(b.N) {
					b.Fatalf("%d messages counted, want at least %d", u.Stats().MessagesReceived, b.N)
				}
			})
		}
	}
}

func benchmarkEcho(b *testing.B, addr string, size int) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("handshake: %v %v", resp, err)
	}
	req := rawclient.AppendFrame(nil, rawclient.Frame{Fin: true, Opcode: rawclient.OpBinary, Payload: make([]byte, size)})
	reply := make([]byte, len(req)-4) // the server's frame has no masking key
	roundTrip := func() {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, reply); err != nil {
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
}
