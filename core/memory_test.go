package gws

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

// BenchmarkIdleMemory opens 500 connections, echoes one message on each
// and reports the heap and stack they hold while idle, per connection
// (server and client sides together; the client side is a bare TCP
// connection). Compare the variants: what compression adds per idle
// connection is the difference from "plain". Run with -benchtime=1x.
func BenchmarkIdleMemory(b *testing.B) {
	const conns = 500
	msg := []byte(strings.Repeat("idle connections cost memory; ", 40))
	variants := []struct {
		name   string
		opts   ServerOptions
		offer  string
		client []byte
	}{
		{"plain", ServerOptions{}, "", encode(0x80|frame.OpText, msg)},
		{"deflate", ServerOptions{CompressEnabled: true}, "permessage-deflate", encode(0x80|frame.Rsv1|frame.OpText, newDeflater(false).compress(msg))},
		{"deflate-client-context", ServerOptions{CompressEnabled: true, ClientContextTakeover: true}, "permessage-deflate", encode(0x80|frame.Rsv1|frame.OpText, newDeflater(false).compress(msg))},
		{"deflate-server-context", ServerOptions{CompressEnabled: true, ServerContextTakeover: true}, "permessage-deflate", encode(0x80|frame.Rsv1|frame.OpText, newDeflater(false).compress(msg))},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				addr := serve(b, &Upgrader{ServerOptions: &v.opts}, echoHandler{})
				before := heapAndStacks()
				ncs := make([]net.Conn, conns)
				for i := range ncs {
					ncs[i] = idleClient(b, addr, v.offer, v.client)
				}
				after := heapAndStacks()
				b.ReportMetric(float64(after-before)/conns, "B/conn")
				for _, nc := range ncs {
					nc.Close()
				}
			}
		})
	}
}

func heapAndStacks() uint64 {
	for range 2 {
		runtime.GC()
	}
	time.Sleep(50 * time.Millisecond)
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// idleClient connects, sends one message, reads the echo and leaves the
// connection idle, holding nothing but the net.Conn.
func idleClient(b *testing.B, addr, offer string, message []byte) net.Conn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	if offer != "" {
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	fmt.Fprintf(nc, "%s\r\n", req)
	br := bufio.NewReaderSize(nc, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		b.Fatalf("handshake: %v %v", resp, err)
	}
	nc.Write(message)
	hb := make([]byte, frame.MaxHeaderSize)
	io.ReadFull(br, hb[:2])
	n := frame.HeaderLen(hb[1])
	io.ReadFull(br, hb[2:n])
	h, _, _ := frame.Parse(hb[:n])
	io.CopyN(io.Discard, br, h.Length)
	return nc
}
