package gws

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

// pollerOf returns u's poller, nil when it has none.
func pollerOf(u *Upgrader) *poller {
	g := u.group()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.poll
}

// liveConns returns u's connections.
func liveConns(u *Upgrader) []*Conn {
	g := u.group()
	g.mu.Lock()
	defer g.mu.Unlock()
	var cs []*Conn
	for c := range g.live {
		cs = append(cs, c)
	}
	return cs
}

// In poller mode an idle connection has no goroutine: the goroutines
// serving 200 of them are the pool's, and each holds its socket, taken
// over from the runtime (BenchmarkIdleMemory has what they hold).
func TestPollerParksIdleConnections(t *testing.T) {
	const conns = 200
	u := &Upgrader{ServerOptions: &ServerOptions{Poller: true}}
	addr := serve(t, u, echoHandler{})
	connect(t, addr).send(0x81, []byte("warm")) // the pool starts
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range conns {
		c := connect(t, addr)
		c.send(0x81, []byte("hello"))
		c.expect(frame.OpText, []byte("hello"))
	}
	time.Sleep(50 * time.Millisecond)
	if extra := runtime.NumGoroutine() - before; extra > 2*spareWorkers {
		t.Fatalf("%d more goroutines for %d idle connections, want at most the pool's spare workers", extra, conns)
	}
	for _, c := range liveConns(u) {
		if _, ok := c.NetConn().(*pollConn); !ok {
			t.Fatalf("NetConn is a %T, want the poller's own", c.NetConn())
		}
	}
}

// blockingEcho echoes, except that a message "block" waits for release.
type blockingEcho struct {
	echoHandler
	blocked chan struct{}
	release chan struct{}
}

func (h blockingEcho) OnMessage(c *Conn, m *Message) {
	if string(m.Bytes()) == "block" {
		h.blocked <- struct{}{}
		<-h.release
	}
	h.echoHandler.OnMessage(c, m)
}

// A handler that blocks holds up its own connection only: the pool grows
// so that the others are served, and shrinks again afterwards.
func TestPollerBlockingHandler(t *testing.T) {
	u := &Upgrader{ServerOptions: &ServerOptions{Poller: true}}
	h := blockingEcho{blocked: make(chan struct{}, 10), release: make(chan struct{})}
	addr := serve(t, u, h)
	var stuck []*client
	for range 10 {
		c := connect(t, addr)
		c.send(0x81, []byte("block"))
		<-h.blocked
		stuck = append(stuck, c)
	}
	free := connect(t, addr)
	for range 3 {
		free.send(0x81, []byte("free"))
		free.expect(frame.OpText, []byte("free"))
	}
	close(h.release)
	for _, c := range stuck {
		c.expect(frame.OpText, []byte("block"))
	}
	p := pollerOf(u)
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		workers := p.workers
		p.mu.Unlock()
		if workers <= spareWorkers+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers once the handlers returned, want the pool back to %d spare", workers, spareWorkers)
		}
		// Idle workers beyond the spares leave when they next find no work.
		free.send(0x81, []byte("free"))
		free.expect(frame.OpText, []byte("free"))
		time.Sleep(10 * time.Millisecond)
	}
}

// Closing NetConn ends a connection of the poller, as it does one with a
// goroutine of its own: OnClose is called.
func TestPollerNetConnClose(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{Poller: true}}, h)
	c := connect(t, addr)
	conn := <-h.conns
	conn.NetConn().Close()
	h.waitClosed(t)
	c.expectEOF()
}

// A connection without a descriptor of its own (here a pipe) runs in
// goroutine mode under Poller.
func TestPollerWithoutDescriptor(t *testing.T) {
	u := &Upgrader{ServerOptions: &ServerOptions{Poller: true}}
	server, client := net.Pipe()
	defer client.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://x/ws", nil)
	req.Header = http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
	resp, err := u.Negotiate(NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// The 101, then the echo.
		buf := make([]byte, 4096)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}()
	c, err := u.Accept(context.Background(), server, nil, resp, echoHandler{})
	if err != nil {
		t.Fatal(err)
	}
	if c.pc != nil || c.NetConn() != server {
		t.Fatal("a pipe was taken over by the poller")
	}
	client.Write(encode(0x81, []byte("over the pipe")))
	c.Close()
	<-c.Context.Done()
}

// In poller mode a connection upgraded on net/http does not keep the
// request's context when it holds nothing but net/http's own values: its
// Context answers them from one context all such connections share. A
// request context with a value of the application's is kept whole.
func TestPollerDropsNetHTTPContext(t *testing.T) {
	type key struct{}
	u := &Upgrader{ServerOptions: &ServerOptions{Poller: true}}
	h := serverSide{newRecorder(), make(chan *Conn, 4)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("span") != "" {
			r = r.WithContext(context.WithValue(r.Context(), key{}, "span"))
		}
		if r.URL.Query().Get("cancel") != "" {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			r = r.WithContext(ctx)
		}
		u.Upgrade(context.Background(), w, r, h)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	var clients []*client
	defer func() {
		for _, c := range clients {
			c.nc.Close()
		}
		srv.Close()
		wg.Wait()
		waitEnded(t, u)
	}()
	addr := ln.Addr().String()
	clients = append(clients, connect(t, addr), connect(t, addr))
	plain1, plain2 := <-h.conns, <-h.conns
	if plain1.ctx.values != plain2.ctx.values {
		t.Error("two connections of one server keep a request context each")
	}
	if got := plain1.Context.Value(http.ServerContextKey); got != srv {
		t.Errorf("Context.Value(ServerContextKey) = %v, want the server", got)
	}
	if got, ok := plain1.Context.Value(http.LocalAddrContextKey).(net.Addr); !ok || got.String() != addr {
		t.Errorf("Context.Value(LocalAddrContextKey) = %v, want %s", got, addr)
	}
	c, resp := dial(t, addr, "/ws?span=1", nil, nil)
	clients = append(clients, c)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	traced := <-h.conns
	if traced.Context.Value(key{}) != "span" || traced.Context.Value(http.ServerContextKey) != srv {
		t.Error("a request context with a value of its own lost it")
	}
	if traced.ctx.values == plain1.ctx.values {
		t.Error("a request context with a value of its own was replaced by the shared one")
	}
	c, resp = dial(t, addr, "/ws?cancel=1", nil, nil)
	clients = append(clients, c)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if wrapped := <-h.conns; wrapped.ctx.values == plain1.ctx.values {
		t.Error("a request context with a layer of its own (WithCancel) was replaced by the shared one")
	}
}

// The poller stops once no connection uses it, with its goroutines.
func TestPollerStopsWhenIdle(t *testing.T) {
	u := &Upgrader{ServerOptions: &ServerOptions{Poller: true}}
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, u, h)
	c := connect(t, addr)
	<-h.conns
	if pollerOf(u) == nil {
		t.Fatal("no poller while a connection uses it")
	}
	c.nc.Close()
	h.waitClosed(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if pollerOf(u) == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the poller still runs with no connection")
		}
		time.Sleep(time.Millisecond)
	}
}
