package gws

import (
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Conn is one WebSocket connection, on the server side (from Upgrade,
// UpgradeRequest or Accept) or the client side (from Dial). Its events go
// to its EventHandler from a goroutine of its own; its write methods are
// safe for concurrent use, and each writes one whole frame.
type Conn struct {
	// Storage holds values for the life of the connection, starting with
	// those CheckOrigin put in the Request's Storage.
	Storage *Storage

	// Context carries the values of the handshake request's context (on a
	// client, Dial's) and is cancelled once the connection has ended and
	// OnClose has returned: <-Context.Done() waits for the end.
	Context context.Context

	ctx     connContext // Context
	store   Storage     // Storage
	nc      net.Conn
	raw     syscall.RawConn       // nil when nc exposes no file descriptor
	readyFn func(fd uintptr) bool // c.tryRead, the read loop, bound once
	writeFn func(fd uintptr) bool // c.rawWrite, likewise
	drainFn func()                // c.drain, bound by startDrainer
	g       *group
	cfg     *config // g.cfg, read on every frame
	handler EventHandler

	// An idle connection in poller mode holds little more than this
	// struct, so its small fields are packed together here, whoever
	// guards them.
	closing     atomic.Bool   // Close was called or a write failed: the read error is expected
	closer      atomic.Uint32 // a cause: who sent or asked for the first close, if not the peer
	server      bool
	subProtocol uint8 // 1 + its index in cfg.subProtocols; 0 for none
	inq         bool  // the socket reports what its receive queue holds (TCP_INQ); read loop
	inqTried    bool  // the read loop has tried to turn TCP_INQ on
	drained     bool  // the last read left the socket empty, with no FIN queued; read loop
	wnowait     bool  // rawWrite stops when the socket is full instead of waiting; wmu
	closeSent   bool  // a close frame went out (or the connection ended): no more frames; wmu

	// Read side, touched only by the read loop.
	r       *reader // nil while idle
	rpeek   [8]byte // where pullLoop waits for the next frame
	loopErr error   // why the raw read loop ended

	deflate *deflateConn // permessage-deflate, when negotiated

	wtry    []byte        // what rawWrite has left to write, and how it went; guarded by wmu
	wtryErr syscall.Errno // 0, or why the socket refused it

	wdeadline atomic.Int64 // the write deadline set last, in nanoseconds since monoStart; 0 when none; or deadlineUnknown

	// reads counts the read loop's reads that returned data; wroteAt is
	// its value when the last successful write began. Equal, they prove
	// that a write succeeded after the last read: the peer had not reset
	// the connection by then (see tryRead).
	reads, wroteAt atomic.Uint64

	wmu  sync.Mutex
	werr *error // the write error that ended the connection; guarded by wmu

	localErr atomic.Pointer[CloseError] // why gws dropped the connection itself (slow consumer, heartbeat)

	traffic traffic

	pq *parallelQueue             // with ParallelEnabled
	wq atomic.Pointer[writeQueue] // made on first use (queue)
	pc *pollConn                  // the socket, taken over by the poller; nil in goroutine mode

	bwait atomic.Pointer[budgetWait] // waiting for room in a MemoryBudget

	lastSeen atomic.Int64 // heartbeat clock reading when the last frame arrived
	lastPing atomic.Int64 // heartbeat clock reading when the last ping went out
}

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn returns the underlying connection, for its addresses, its type
// and its TLS state. Reading or writing it corrupts the WebSocket stream,
// and closing it from an event handler never returns (the handler runs
// inside the connection's read): use Conn.Close. In poller mode
// (ServerOptions.Poller) it is gws's own net.Conn over the socket it took
// over, not the *net.TCPConn the server handed in.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SubProtocol returns the subprotocol negotiated in the handshake, or "".
func (c *Conn) SubProtocol() string {
	if c.subProtocol == 0 {
		return ""
	}
	return c.cfg.subProtocols[c.subProtocol-1]
}

// SetDeadline sets the read and write deadline of the connection, as
// net.Conn.SetDeadline does; the zero time removes it. A heartbeat moves it
// ahead after each pong. A read that reaches the deadline ends the
// connection with OnError and then OnClose(1006).
func (c *Conn) SetDeadline(t time.Time) error {
	var wd int64
	if !t.IsZero() {
		wd = deadlineUnknown
	}
	c.wdeadline.Store(wd)
	return c.nc.SetDeadline(t)
}

// newConn builds a connection of group g, for the server side or the
// client side; g.track publishes it to Shutdown and the heartbeat, and
// start delivers its events.
func newConn(g *group, nc net.Conn, buffered []byte, r *Request, resp *Response, h EventHandler, server bool) *Conn {
	c := &Conn{
		nc:      nc,
		server:  server,
		g:       g,
		cfg:     g.cfg,
		handler: h,
	}
	parent := context.Background()
	if r != nil && r.Request != nil {
		parent = r.Context()
		if server && g.cfg.poller {
			parent = g.httpCtx.values(parent)
		}
	}
	c.ctx.init(parent)
	c.Context = &c.ctx
	c.Storage = &c.store
	if r != nil && r.Storage != nil {
		c.store.adopt(r.Storage)
	}
	if resp != nil {
		// One of the subprotocols configured, so its index: a byte, not a
		// string, for every connection to keep.
		c.subProtocol = uint8(slices.Index(c.cfg.subProtocols, resp.SubProtocol) + 1)
		if resp.deflate != nil {
			c.deflate = &deflateConn{deflateParams: *resp.deflate}
		}
	}
	if raw := rawConnOf(nc); raw != nil {
		c.raw = raw
		if server && g.cfg.poller {
			c.takeOver()
		}
		if c.pc == nil {
			// Bound once, so that the read loop and each write pass them
			// without allocating; the poller's workers call them directly.
			c.readyFn = c.tryRead
			c.writeFn = c.rawWrite
		}
	}
	if g.cfg.parallel {
		c.pq = newParallelQueue(g.cfg)
	}
	if len(buffered) > 0 {
		c.takeBuffer(len(buffered))
		c.r.rend = copy(*c.r.rbuf, buffered)
	}
	return c
}

// start delivers the connection's events on a goroutine of its own, and
// closes the connection with 1001 when ctx is done.
func (c *Conn) start(ctx context.Context) {
	c.begin(ctx)
	if !c.startPolled() {
		go c.readLoop()
	}
}

// begin counts the connection as opened and arranges for it to be closed
// with 1001 when ctx is done; the caller then runs readLoop.
func (c *Conn) begin(ctx context.Context) {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			c.closedBy(causeShutdown)
			c.closeAsync(CloseGoingAway, []byte("going away"))
		})
		c.onEnd(func() { stop() })
	}
	c.g.opened.Add(1)
}
