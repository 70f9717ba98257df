package gws

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// EventHandler receives a connection's events. For each connection OnOpen is
// called once, before any other event, and OnClose once, last; in between
// the events of one connection come one at a time, in order, on the
// goroutine running ReadLoop.
type EventHandler interface {
	// OnOpen is called when the connection is ready.
	OnOpen(socket *Conn)
	// OnClose is called when the connection has ended, with the close code
	// and reason the peer sent, the code gws sent when it failed the
	// connection, or CloseAbnormal (1006) when TCP ended without a close
	// frame.
	OnClose(socket *Conn, code Code, reason []byte)
	// OnMessage is called for every complete text or binary message, after
	// the middleware. Call m.Close when done with it.
	OnMessage(socket *Conn, m *Message)
	// OnError is called for a protocol violation or an I/O error, before
	// OnClose.
	OnError(socket *Conn, err error)
	// OnPing is called for every ping, after gws has answered it with a pong
	// carrying the same payload. m is valid only during the call.
	OnPing(socket *Conn, m []byte)
	// OnPong is called for every pong. m is valid only during the call.
	OnPong(socket *Conn, m []byte)
}

// NopHandler is an EventHandler that does nothing: embed it in a handler
// of your own and define only the events you need. Its OnMessage closes the
// message.
type NopHandler struct{}

func (NopHandler) OnOpen(*Conn)                  {}
func (NopHandler) OnClose(*Conn, Code, []byte)   {}
func (NopHandler) OnMessage(_ *Conn, m *Message) { m.Close() }
func (NopHandler) OnError(*Conn, error)          {}
func (NopHandler) OnPing(*Conn, []byte)          {}
func (NopHandler) OnPong(*Conn, []byte)          {}

// Upgrader turns HTTP requests into WebSocket connections. Its zero value
// uses the default options and the same-origin check. Configure it before
// first use; it is safe for concurrent use afterwards.
type Upgrader struct {
	// ServerOptions configures the handshake and the connections; nil means
	// the defaults documented on ServerOptions.
	ServerOptions *ServerOptions

	// CheckOrigin decides whether to accept a request, and may put values
	// in r.Storage for the connection. nil means the same-origin check: a
	// request without an Origin header, or whose Origin host equals its
	// Host, is accepted.
	CheckOrigin func(r *Request) bool

	once        sync.Once
	opts        *ServerOptions
	middlewares []HandlerFunc
	slots       chan struct{} // Concurrency's handler slots; nil when uncapped

	mu       sync.Mutex
	conns    map[*Conn]struct{} // every live connection, for Shutdown and the heartbeat
	closing  bool               // Shutdown has begun
	allGone  chan struct{}      // closed when conns empties during Shutdown
	beat     *heartbeat
	clock    atomic.Int64 // the heartbeat's clock, read when frames arrive
	dropped  atomic.Int64
	slowShut atomic.Int64
}

// Stats are counters of an Upgrader's slow-consumer handling.
type Stats struct {
	// Dropped counts messages WriteAsync dropped under SlowDrop or after
	// SlowBlockTimeout.
	Dropped int64
	// ClosedSlow counts connections closed under SlowClose.
	ClosedSlow int64
	// Conns is the number of live connections.
	Conns int
}

// Stats returns the current counters.
func (u *Upgrader) Stats() Stats {
	u.mu.Lock()
	n := len(u.conns)
	u.mu.Unlock()
	return Stats{Dropped: u.dropped.Load(), ClosedSlow: u.slowShut.Load(), Conns: n}
}

// Use appends middleware to the chain every message goes through before
// OnMessage. Call it before serving.
func (u *Upgrader) Use(middlewares ...HandlerFunc) {
	u.middlewares = append(u.middlewares, middlewares...)
}

func (u *Upgrader) options() *ServerOptions {
	u.once.Do(func() {
		u.opts = u.ServerOptions.withDefaults()
		if u.opts.Concurrency > 0 {
			u.slots = make(chan struct{}, u.opts.Concurrency)
		}
	})
	return u.opts
}

// NewConn makes the server side of a connection whose handshake resp was
// accepted for r and whose 101 response has already been written on nc, for
// adapters whose server writes the response itself (fasthttp). buffered
// holds any bytes the HTTP server had already read past the request; they
// are read before nc. Events start when the caller runs ReadLoop.
func (u *Upgrader) NewConn(nc net.Conn, buffered []byte, r *Request, resp *Response, h EventHandler) *Conn {
	c := u.newConn(nc, buffered, r, resp, h, true)
	u.track(c)
	return c
}

// newConn builds a connection for the server side or, from Dial, the
// client side; track publishes it to Shutdown and the heartbeat.
func (u *Upgrader) newConn(nc net.Conn, buffered []byte, r *Request, resp *Response, h EventHandler, server bool) *Conn {
	opts := u.options()
	parent := context.Background()
	if r != nil && r.Request != nil {
		// Keep the request's values (auth, tracing) but not its
		// cancellation, which net/http fires when the handler returns.
		parent = context.WithoutCancel(r.Context())
	}
	ctx, cancel := context.WithCancel(parent)
	c := &Conn{
		Context: ctx,
		cancel:  cancel,
		nc:      nc,
		server:  server,
		up:      u,
		opts:    opts,
		handler: h,
	}
	c.drainFn = c.drain
	if r != nil {
		c.Storage = r.Storage
	}
	if c.Storage == nil {
		c.Storage = NewStorage()
	}
	if resp != nil {
		c.subProtocol = resp.SubProtocol
		c.deflate = resp.deflate
	}
	if raw := rawConnOf(nc); raw != nil {
		c.raw = raw
		c.readyFn = c.tryRead
		c.writeFn = c.tryWrite
		c.writeAllFn = c.writeAll
		raw.Control(func(fd uintptr) { c.inq = enableInq(fd) })
	}
	if opts.ParallelEnabled {
		c.pq = newParallelQueue(opts)
	}
	if len(buffered) > 0 {
		c.takeBuffer(len(buffered))
		c.rend = copy(*c.rbuf, buffered)
	}
	return c
}

// track adds c to the live connections, and the heartbeat's.
func (u *Upgrader) track(c *Conn) {
	u.mu.Lock()
	if u.conns == nil {
		u.conns = make(map[*Conn]struct{})
	}
	u.conns[c] = struct{}{}
	if u.opts.PingInterval > 0 && u.beat == nil {
		u.beat = startHeartbeat(u)
	}
	closing := u.closing
	u.mu.Unlock()
	if closing {
		// Negotiated just before Shutdown began: say goodbye at once.
		c.closeAsync(CloseGoingAway, []byte("server shutting down"))
	}
}

// untrack removes a connection that has ended.
func (u *Upgrader) untrack(c *Conn) {
	u.mu.Lock()
	delete(u.conns, c)
	if len(u.conns) == 0 {
		if u.allGone != nil {
			close(u.allGone)
			u.allGone = nil
		}
		if u.beat != nil {
			u.beat.stop()
			u.beat = nil
		}
	}
	u.mu.Unlock()
}

// Shutdown stops the Upgrader gracefully: new handshakes are refused with
// 503, every open connection is sent close 1001 (going away), and Shutdown
// waits for their OnClose until ctx is done, then drops the connections
// that remain and waits for them to end. It returns ctx's error if it had
// to drop any. Stop the HTTP server's listener first (http.Server.Shutdown
// does not touch hijacked connections).
func (u *Upgrader) Shutdown(ctx context.Context) error {
	u.options()
	u.mu.Lock()
	u.closing = true
	live := make([]*Conn, 0, len(u.conns))
	for c := range u.conns {
		live = append(live, c)
	}
	u.mu.Unlock()
	for _, c := range live {
		c.closeAsync(CloseGoingAway, []byte("server shutting down"))
	}
	if u.waitAllGone(ctx) {
		return nil
	}
	u.mu.Lock()
	for c := range u.conns {
		c.Close()
	}
	u.mu.Unlock()
	u.waitAllGone(context.Background())
	return ctx.Err()
}

// waitAllGone waits until no connection is left or ctx is done, and
// reports whether none is left.
func (u *Upgrader) waitAllGone(ctx context.Context) bool {
	u.mu.Lock()
	if len(u.conns) == 0 {
		u.mu.Unlock()
		return true
	}
	if u.allGone == nil {
		u.allGone = make(chan struct{})
	}
	gone := u.allGone
	u.mu.Unlock()
	select {
	case <-gone:
		return true
	case <-ctx.Done():
		return false
	}
}

// Accept completes an upgrade on a connection taken over from the HTTP
// server (hijacked): it writes the 101 response within
// ServerOptions.HandshakeTimeout and returns the connection, ready for
// ReadLoop. On error nc is closed.
func (u *Upgrader) Accept(nc net.Conn, buffered []byte, r *Request, resp *Response, h EventHandler) (*Conn, error) {
	// The connection is counted before the client can see the 101, so a
	// Shutdown that starts meanwhile finds it; the write lock keeps any
	// frame queued for it (a ping, Shutdown's close) behind the 101.
	c := u.newConn(nc, buffered, r, resp, h, true)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	u.track(c)
	nc.SetWriteDeadline(time.Now().Add(u.options().HandshakeTimeout))
	if _, err := resp.WriteTo(nc); err != nil {
		c.closeSent = true
		nc.Close()
		c.releaseBuffer()
		c.cancel()
		u.untrack(c)
		return nil, fmt.Errorf("gws: writing handshake response: %w", err)
	}
	nc.SetWriteDeadline(time.Time{})
	return c, nil
}
