package gws

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Upgrader turns HTTP requests into WebSocket connections. Its zero value
// uses the default options and the same-origin check. Configure it before
// first use; it is safe for concurrent use afterwards.
type Upgrader struct {
	// ServerOptions configures the handshake and the connections; nil means
	// the defaults documented on ServerOptions.
	ServerOptions *ServerOptions

	// CheckOrigin decides whether to accept a request, and may put values
	// in r.Storage for the connection. nil means SameOrigin.
	CheckOrigin func(r *Request) bool

	// ObserveHandler, when set, is called after each message has gone
	// through the middleware and OnMessage, with the time they took, on
	// the goroutine that ran them. It is the hook of the metrics modules
	// (github.com/gwsgo/gws/observability/...), which set it; set it
	// before the Upgrader's first use. nil, the default, reads no clock
	// per message.
	ObserveHandler func(socket *Conn, took time.Duration)

	once  sync.Once
	conns group
}

// group is what the connections of one Upgrader, or the one connection of
// a Dial, share: their configuration and middleware, the live set that
// Shutdown and the heartbeat walk, and the counters behind Stats.
type group struct {
	cfg         *config
	middlewares []Middleware
	slots       chan struct{} // Concurrency's handler slots; nil when uncapped

	mu      sync.Mutex
	live    map[*Conn]struct{}
	closing bool          // Shutdown has begun
	allGone chan struct{} // closed when live empties during Shutdown
	beat    *heartbeat
	clock   atomic.Int64  // the heartbeat's clock, read when frames arrive
	poll    *poller       // with ServerOptions.Poller, while connections use it
	budget  *budget       // ServerOptions.MemoryBudget; nil without one
	httpCtx netHTTPValues // in poller mode, for Conn.Context

	dropped  atomic.Int64
	slowShut atomic.Int64

	// lastBroadcast is the Broadcaster that last began sending to the
	// group's connections, and backlog counts the messages being handled
	// with more from the same peer already waiting (see
	// Broadcaster.queues).
	lastBroadcast atomic.Pointer[Broadcaster]
	backlog       atomic.Int32

	counters
}

// Use appends middleware to the chain every message goes through before
// OnMessage. Call it before serving.
func (u *Upgrader) Use(middlewares ...Middleware) {
	u.conns.middlewares = append(u.conns.middlewares, middlewares...)
}

// group returns the Upgrader's connection group, configured on first use.
func (u *Upgrader) group() *group {
	u.once.Do(func() {
		u.conns.cfg = u.ServerOptions.config()
		u.conns.observe = u.ObserveHandler
		u.conns.budget = newBudget(u.conns.cfg.budget, u.conns.cfg.budgetTimeout)
		if n := u.conns.cfg.concurrency; n > 0 {
			u.conns.slots = make(chan struct{}, n)
		}
	})
	return &u.conns
}

// track adds c to the live connections, and the heartbeat's.
func (g *group) track(c *Conn) {
	g.mu.Lock()
	if g.live == nil {
		g.live = make(map[*Conn]struct{})
	}
	g.live[c] = struct{}{}
	if g.cfg.pingInterval > 0 && g.beat == nil {
		g.beat = startHeartbeat(g)
	}
	closing := g.closing
	g.mu.Unlock()
	if closing {
		// Negotiated just before Shutdown began: say goodbye at once.
		c.closedBy(causeShutdown)
		c.closeAsync(CloseGoingAway, []byte("server shutting down"))
	}
}

// untrack removes a connection that has ended.
func (g *group) untrack(c *Conn) {
	g.mu.Lock()
	delete(g.live, c)
	g.ended.add(&c.traffic)
	if len(g.live) == 0 {
		if g.allGone != nil {
			close(g.allGone)
			g.allGone = nil
		}
		if g.beat != nil {
			g.beat.stop()
			g.beat = nil
		}
	}
	g.mu.Unlock()
}

// Shutdown stops the Upgrader gracefully: new handshakes are refused with
// 503, every open connection is sent close 1001 (going away), and Shutdown
// waits for their OnClose until ctx is done, then drops the connections
// that remain and waits for them to end. It returns ctx's error if it had
// to drop any. Stop the HTTP server's listener first (http.Server.Shutdown
// does not touch hijacked connections).
func (u *Upgrader) Shutdown(ctx context.Context) error {
	g := u.group()
	g.mu.Lock()
	g.closing = true
	live := make([]*Conn, 0, len(g.live))
	for c := range g.live {
		live = append(live, c)
	}
	g.mu.Unlock()
	for _, c := range live {
		c.closedBy(causeShutdown)
		c.closeAsync(CloseGoingAway, []byte("server shutting down"))
	}
	if g.waitAllGone(ctx) {
		return nil
	}
	g.mu.Lock()
	for c := range g.live {
		c.Close()
	}
	g.mu.Unlock()
	g.waitAllGone(context.Background())
	return ctx.Err()
}

// waitAllGone waits until no connection is left or ctx is done, and
// reports whether none is left.
func (g *group) waitAllGone(ctx context.Context) bool {
	g.mu.Lock()
	if len(g.live) == 0 {
		g.mu.Unlock()
		return true
	}
	if g.allGone == nil {
		g.allGone = make(chan struct{})
	}
	gone := g.allGone
	g.mu.Unlock()
	select {
	case <-gone:
		return true
	case <-ctx.Done():
		return false
	}
}
