package test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

// idleConns is how many idle sockets TestIdleMemoryH2 measures.
const idleConns = 500

// TestIdleMemoryH2 measures what an idle WebSocket costs the server as
// an HTTP/2 stream, against an HTTP/1.1 upgrade over TLS: heap and stacks
// (after garbage collection) and goroutines, per socket, with the clients
// in a child process so that only the server is counted. Each socket has
// echoed one message. It logs the figures and fails only past a bound
// far above them, which a buffer kept per stream would cross.
func TestIdleMemoryH2(t *testing.T) {
	if addr := os.Getenv("GWS_IDLE_CLIENTS"); addr != "" {
		idleClients(t, addr, os.Getenv("GWS_IDLE_KIND"))
		return
	}
	if !routertest.XConnect(t, true) {
		return
	}
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	srv := httptest.NewUnstartedServer(gwshttp.Handler(u, wstest.Echo{}))
	srv.EnableHTTP2 = true
	srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 2 * idleConns}
	srv.StartTLS()
	defer srv.Close()
	defer u.Shutdown(t.Context())
	for _, kind := range []string{"http1", "http2"} {
		bytes, goroutines := idleCost(t, srv.Listener.Addr().String(), kind)
		t.Logf("idle %s WebSocket: %6.0f B of heap and stacks, %.2f goroutines, per socket (server side, %d sockets)",
			kind, bytes, goroutines, idleConns)
		if bytes > 64<<10 {
			t.Errorf("an idle %s socket holds %.0f B", kind, bytes)
		}
	}
}

// idleCost starts the child that holds idleConns sockets of kind open,
// and returns what the server holds for each.
func idleCost(t *testing.T, addr, kind string) (bytes, goroutines float64) {
	t.Helper()
	before, g0 := heapAndStacks()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleMemoryH2$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GWS_IDLE_CLIENTS="+addr, "GWS_IDLE_KIND="+kind)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("the clients' process said %q: %v", line, err)
	}
	after, g1 := heapAndStacks()
	return float64(after-before) / idleConns, float64(g1-g0) / idleConns
}

func heapAndStacks() (uint64, int) {
	for range 2 {
		runtime.GC()
	}
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse, runtime.NumGoroutine()
}

// idleClients is the child: it opens idleConns sockets to addr, echoes a
// message on each, says "ready" and holds them until stdin closes.
func idleClients(t *testing.T, addr, kind string) {
	var conns []*rawclient.Conn
	if kind == "http2" {
		h2, err := rawclient.DialH2(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer h2.Close()
		for range idleConns {
			c, _, err := h2.Dial("/", nil)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
	} else {
		for range idleConns {
			tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer tc.Close()
			c, err := handshakeTLS(tc, addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
	}
	for i, c := range conns {
		routertest.CheckEcho(t, c, "message "+strconv.Itoa(i))
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// handshakeTLS upgrades tc over HTTP/1.1.
func handshakeTLS(tc *tls.Conn, addr string) (*rawclient.Conn, error) {
	io.WriteString(tc, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(tc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, fmt.Errorf("handshake answered %s", resp.Status)
	}
	return rawclient.NewConn(tc, br, resp), nil
}
