package gws

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
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
// connection is the difference from "plain", and what poller mode saves
// (the goroutine, the runtime's poller state) too. Run with -benchtime=1x.
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
		{"poller", ServerOptions{Poller: true}, "", encode(0x80|frame.OpText, msg)},
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

// TestIdleStackStaysSmall checks that connections that have each echoed
// a message and gone idle keep goroutine stacks of the runtime's smallest
// size, 2 KB: the path from the read loop through dispatch, a handler and
// Write down to write(2) fits in it. Go never shrinks the stack of a
// goroutine parked in the poller, so a path that outgrew it would cost
// every idle connection another 2 KB for good.
//
// It runs in a child process with GODEBUG=adaptivestackstart=0: otherwise
// the runtime starts new goroutines at the average stack size of the last
// garbage collection, which in a test binary's few deep goroutines is
// often 4 KB, and the test would measure that instead of growth.
func TestIdleStackStaysSmall(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector deepens every stack; scripts/test runs this package once more without it")
	}
	if os.Getenv("GWS_STACK_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStackStaysSmall$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "GWS_STACK_CHILD=1", "GODEBUG=adaptivestackstart=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		t.Logf("%s", out)
		return
	}
	const conns = 200
	addr := serve(t, &Upgrader{}, echoHandler{})
	msg := encode(0x80|frame.OpText, []byte("sixteen bytes!!!"))
	before := stackInuse()
	ncs := make([]net.Conn, conns)
	for i := range ncs {
		ncs[i] = idleClient(t, addr, "", msg)
	}
	perConn := float64(stackInuse()-before) / conns
	for _, nc := range ncs {
		nc.Close()
	}
	// A pooled buffer or message the pool had to allocate afresh can take
	// one connection's path into the allocator and grow its stack; 3 KB a
	// connection tolerates that for nearly half of them, and fails when
	// every one grows to 4 KB.
	if perConn > 3<<10 {
		t.Fatalf("idle connections hold %.0f bytes of stack each, want 2 KB (at most 3 KB on average)", perConn)
	}
	t.Logf("%.0f bytes of stack per idle connection", perConn)
}

func stackInuse() uint64 {
	heapAndStacks()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
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
func idleClient(b testing.TB, addr, offer string, message []byte) net.Conn {
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

// TestUpgradeHoldsNoRequestState checks that a connection upgraded the
// seed's way, with Upgrade inside a net/http handler, holds no more at rest
// than one made by an adapter that writes the 101 itself (Accept on a raw
// listener): the HTTP handler's goroutine, net/http's per-connection
// goroutine and buffers, and the request are gone once the handler has
// returned. What Upgrade keeps beyond that is the request's context, for
// Conn.Context's values (net/http's chain of value and cancel contexts,
// about 1.2 KB measured); net/http's read and write buffers are 4 KiB each
// and a parked handler goroutine's stack at least 2 KB, so holding any of
// them would cross the 2 KB allowed.
func TestUpgradeHoldsNoRequestState(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what memory holds; scripts/test runs this package once more without it")
	}
	const conns = 300
	msg := encode(0x80|frame.OpText, []byte("sixteen bytes!!!"))
	measure := func(addr string) (bytes float64, goroutines int) {
		idleClient(t, addr, "", msg).Close() // pools and lazily started goroutines
		time.Sleep(50 * time.Millisecond)
		before, g0 := heapAndStacks(), runtime.NumGoroutine()
		ncs := make([]net.Conn, conns)
		for i := range ncs {
			ncs[i] = idleClient(t, addr, "", msg)
		}
		after, g1 := heapAndStacks(), runtime.NumGoroutine()
		for _, nc := range ncs {
			nc.Close()
		}
		return float64(after-before) / conns, g1 - g0
	}

	accepted, acceptedG := measure(serve(t, &Upgrader{}, echoHandler{}))

	u := &Upgrader{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.Upgrade(context.Background(), w, r, echoHandler{})
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer func() {
		srv.Close()
		waitEnded(t, u)
	}()
	upgraded, upgradedG := measure(ln.Addr().String())

	t.Logf("per idle connection: Accept %.0f B and %d goroutines in all, Upgrade on net/http %.0f B and %d goroutines",
		accepted, acceptedG, upgraded, upgradedG)
	if upgradedG > conns+conns/10 {
		t.Fatalf("%d goroutines for %d connections through Upgrade: net/http's are still running", upgradedG, conns)
	}
	if upgraded > accepted+2048 {
		t.Fatalf("a connection through Upgrade holds %.0f B at rest, one through Accept %.0f B", upgraded, accepted)
	}
}
