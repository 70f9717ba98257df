package gws

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
	"github.com/gwsgo/gws/core/internal/utf8v"
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

	ctx         connContext // Context
	store       Storage     // Storage
	nc          net.Conn
	raw         syscall.RawConn       // nil when nc exposes no file descriptor
	readyFn     func(fd uintptr) bool // c.tryRead, the read loop, bound once
	writeFn     func(fd uintptr) bool // c.rawWrite, likewise
	drainFn     func()                // c.drain, bound by startDrainer
	server      bool
	g           *group
	cfg         *config // g.cfg, read on every frame
	handler     EventHandler
	subProtocol string

	// Read side, touched only by the read loop's goroutine.
	rbuf       *[]byte // borrowed while bytes are in flight, nil when idle
	rpeek      [8]byte // where pullLoop waits for the next frame
	rpos, rend int
	rstate     int          // stateHeader, or statePayload while rdst is being filled
	rh         frame.Header // the frame being read
	rdst       []byte       // where the rest of its payload goes
	rmask      int          // the masking key position of rdst[0]
	rctl       *[]byte      // a control frame's payload
	rvalidate  bool         // check rdst's bytes as UTF-8
	inq        bool         // the socket reports what its receive queue holds (TCP_INQ)
	inqTried   bool         // the read loop has tried to turn TCP_INQ on (see tryRead)
	drained    bool         // the last read left the socket empty, with no FIN queued
	loopErr    error        // why the raw read loop ended
	msg        *[]byte
	msgOp      Opcode
	text       utf8v.Validator
	peerCode   Code
	peerReason []byte

	// permessage-deflate, when negotiated.
	deflate       *deflateParams
	msgCompressed bool        // the message being read has RSV1
	peerWindow    *[]byte     // the peer's history, kept with client context takeover
	ownComp       *compressor // gws's own writer, kept with server context takeover; guarded by wmu

	wtry    []byte // what rawWrite has left to write, and how it went; guarded by wmu
	wtryErr error
	wnowait bool // rawWrite stops when the socket is full instead of waiting

	wdeadline atomic.Int64 // the write deadline set last, in nanoseconds since monoStart; 0 when none; or deadlineUnknown

	// reads counts the read loop's reads that returned data; wroteAt is
	// its value when the last successful write began. Equal, they prove
	// that a write succeeded after the last read: the peer had not reset
	// the connection by then (see tryRead).
	reads, wroteAt atomic.Uint64

	whdr      [frame.MaxHeaderSize]byte // the header writeLarge sends; guarded by wmu
	wmu       sync.Mutex
	closeSent bool  // a close frame went out (or the connection ended): no more frames
	werr      error // the write error that ended the connection

	closing  atomic.Bool                // Close was called or a write failed: the read error is expected
	localErr atomic.Pointer[CloseError] // why gws dropped the connection itself (slow consumer, heartbeat)
	closer   atomic.Uint32              // a cause: who sent or asked for the first close, if not the peer

	traffic traffic

	pq *parallelQueue // with ParallelEnabled
	wq writeQueue

	lastSeen atomic.Int64 // heartbeat clock reading when the last frame arrived
	lastPing atomic.Int64 // heartbeat clock reading when the last ping went out

	endMu sync.Mutex
	ended bool
	hooks []func() // run when the connection ends, before OnClose
}

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn returns the underlying connection, for its addresses, its type
// and its TLS state. Reading or writing it corrupts the WebSocket stream,
// and closing it from an event handler never returns (the handler runs
// inside the connection's read): use Conn.Close. Over an HTTP/2 stream it
// is the stream, whose ConnectionState method gives the TLS state as
// *tls.Conn's does.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SubProtocol returns the subprotocol negotiated in the handshake, or "".
func (c *Conn) SubProtocol() string { return c.subProtocol }

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
	}
	c.ctx.init(parent)
	c.Context = &c.ctx
	c.Storage = &c.store
	if r != nil && r.Storage != nil {
		c.store.adopt(r.Storage)
	}
	if resp != nil {
		c.subProtocol = resp.SubProtocol
		c.deflate = resp.deflate
	}
	if raw := rawConnOf(nc); raw != nil {
		c.raw = raw
		c.readyFn = c.tryRead
		c.writeFn = c.rawWrite
	}
	if g.cfg.parallel {
		c.pq = newParallelQueue(g.cfg)
	}
	if len(buffered) > 0 {
		c.takeBuffer(len(buffered))
		c.rend = copy(*c.rbuf, buffered)
	}
	return c
}

// start delivers the connection's events on a goroutine of its own, and
// closes the connection with 1001 when ctx is done.
func (c *Conn) start(ctx context.Context) {
	c.begin(ctx)
	go c.readLoop()
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

func (c *Conn) takeBuffer(n int) {
	c.rbuf = bufpool.Get(max(n, c.cfg.readBuffer))
	c.rpos, c.rend = 0, 0
}

// releaseIfIdle gives the read buffer back when no frame is in flight.
func (c *Conn) releaseIfIdle() {
	if c.rpos == c.rend && c.rstate == stateHeader {
		c.releaseBuffer()
	}
}

// The states of the read side.
const (
	stateHeader  = iota // expecting a frame header
	statePayload        // reading a frame's payload into rdst
)

func (c *Conn) releaseBuffer() {
	if c.rbuf != nil {
		bufpool.Put(c.rbuf)
		c.rbuf = nil
	}
	c.rpos, c.rend = 0, 0
}
