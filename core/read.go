package gws

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
	"github.com/gwsgo/gws/core/internal/utf8v"
)

// errPeerClosed ends the read loop after the peer's close frame was handled.
var errPeerClosed = errors.New("gws: closed by peer")

// errNeedMore tells the read loop that the bytes buffered so far end
// inside a frame.
var errNeedMore = errors.New("gws: need more bytes")

// reader is the read side's state while bytes are in flight: the read
// buffer, the frame being read and the message being assembled. A
// connection borrows one from a pool when bytes arrive and gives it back,
// read buffer included, once a message is complete and nothing is left to
// read, so that an idle connection holds none of it (some 150 bytes, with
// a 4 KiB buffer behind them). Between the fragments of a message it keeps
// the reader and gives back the buffer. Only the read loop touches it.
type reader struct {
	rbuf       *[]byte // nil between fragments
	rpos, rend int
	rstate     int          // stateHeader, or statePayload while rdst is being filled
	rh         frame.Header // the frame being read
	rdst       []byte       // where the rest of its payload goes
	rmask      int          // the masking key position of rdst[0]
	rctl       *[]byte      // a control frame's payload
	rvalidate  bool         // check rdst's bytes as UTF-8
	compressed bool         // the message being read has RSV1
	msgOp      Opcode
	msg        *[]byte
	text       utf8v.Validator

	// With a MemoryBudget: what the message holds of it, and its age.
	held, seq int64

	peerCode   Code // the peer's close frame, once read
	peerReason []byte
}

// readers pools readers with their read buffers.
var readers = sync.Pool{New: func() any { return new(reader) }}

// The states of the read side.
const (
	stateHeader  = iota // expecting a frame header
	statePayload        // reading a frame's payload into rdst
)

// takeBuffer borrows a reader, if the connection holds none, and a read
// buffer of at least n bytes, at least ReadBufferSize, if it has none;
// the buffer is empty.
func (c *Conn) takeBuffer(n int) {
	if c.r == nil {
		c.r = readers.Get().(*reader)
	}
	r := c.r
	n = max(n, c.cfg.readBuffer)
	if r.rbuf != nil && cap(*r.rbuf) < n {
		bufpool.Put(r.rbuf)
		r.rbuf = nil
	}
	if r.rbuf == nil {
		r.rbuf = bufpool.Get(n)
	}
	*r.rbuf = (*r.rbuf)[:cap(*r.rbuf)]
	r.rpos, r.rend = 0, 0
}

// releaseIfIdle gives the reader back when nothing is in flight, and the
// read buffer alone between the fragments of a message.
func (c *Conn) releaseIfIdle() {
	r := c.r
	if r == nil || r.rpos != r.rend || r.rstate != stateHeader {
		return
	}
	if r.msg != nil || r.held != 0 {
		if r.rbuf != nil {
			bufpool.Put(r.rbuf)
			r.rbuf = nil
		}
		r.rpos, r.rend = 0, 0
		return
	}
	c.r = nil
	r.rpos, r.rend = 0, 0
	readers.Put(r)
}

// releaseBuffer gives back the reader and everything it holds, when the
// connection ends.
func (c *Conn) releaseBuffer() {
	r := c.r
	if r == nil {
		return
	}
	c.r = nil
	for _, b := range []*[]byte{r.rbuf, r.msg, r.rctl} {
		if b != nil {
			bufpool.Put(b)
		}
	}
	*r = reader{}
	readers.Put(r)
}

// readLoop delivers the connection's events: OnOpen, then every message,
// ping and pong, then OnClose. It returns when the connection has ended and
// its resources are released.
//
// On a connection with a file descriptor, the whole loop runs inside one
// syscall.RawConn.Read: readiness the poller reports while messages are
// being handled is kept, so once the socket is known to be empty (see
// tryRead) the loop waits for the poller instead of trying a read that
// would fail with EAGAIN. That saves one system call in three on a
// request-reply exchange.
func (c *Conn) readLoop() {
	c.handler.OnOpen(c)
	var err error
	if c.raw != nil {
		c.loopErr = nil
		if rerr := c.raw.Read(c.readyFn); c.loopErr == nil {
			c.loopErr = rerr
		}
		err = c.loopErr
	} else {
		err = c.pullLoop()
	}
	c.finish(err)
}

// pullLoop is the read loop over a plain net.Conn (TLS, pipes, HTTP/2
// streams). Between frames it waits with a few bytes of the connection's
// own and borrows the read buffer only once bytes arrive, so that an idle
// connection holds none (7 KB less per idle HTTP/2 stream, measured by
// gwshttp's TestIdleMemoryH2).
func (c *Conn) pullLoop() error {
	for {
		if err := c.advance(); err != errNeedMore {
			return err
		}
		if r := c.r; r == nil || r.rpos == r.rend && r.rstate == stateHeader {
			c.releaseIfIdle()
			n, err := c.nc.Read(c.rpeek[:])
			if n > 0 {
				c.takeBuffer(0)
				c.r.rend = copy(*c.r.rbuf, c.rpeek[:n])
			}
			if err != nil {
				return err
			}
			continue
		}
		dst, direct := c.readTarget()
		n, err := c.nc.Read(dst)
		if n > 0 {
			if perr := c.received(n, direct); perr != nil {
				return perr
			}
		}
		if err != nil {
			return err
		}
	}
}

// readTarget returns where the next read should go: straight into the
// payload being read when the rest of a large frame is awaited (skipping
// the read buffer's copy), or into the read buffer, borrowed if none is
// held.
func (c *Conn) readTarget() (dst []byte, direct bool) {
	r := c.r
	if r == nil || r.rbuf == nil {
		c.takeBuffer(0)
		r = c.r
	}
	if r.rstate == statePayload && r.rpos == r.rend && len(r.rdst) > len(*r.rbuf)/2 {
		return r.rdst, true
	}
	if r.rpos == r.rend {
		r.rpos, r.rend = 0, 0
	} else if len(*r.rbuf)-r.rend < frame.MaxHeaderSize {
		// A header cut by the end of the buffer: move it to the front.
		r.rend = copy(*r.rbuf, (*r.rbuf)[r.rpos:r.rend])
		r.rpos = 0
	}
	return (*r.rbuf)[r.rend:], false
}

// received accounts for n bytes read into the target readTarget gave.
func (c *Conn) received(n int, direct bool) error {
	if direct {
		return c.took(n)
	}
	c.r.rend += n
	return nil
}

// advance handles every complete frame in the read buffer and the payload
// bytes there, and returns errNeedMore when it must wait for the peer.
func (c *Conn) advance() error {
	r := c.r
	if r == nil {
		return errNeedMore
	}
	for {
		if r.rstate == stateHeader {
			if err := c.readHeader(); err != nil {
				return err
			}
		}
		if n := min(len(r.rdst), r.rend-r.rpos); n > 0 {
			copy(r.rdst, (*r.rbuf)[r.rpos:r.rpos+n])
			r.rpos += n
			if err := c.took(n); err != nil {
				return err
			}
		}
		if len(r.rdst) > 0 {
			return errNeedMore
		}
		// Even empty, rdst would keep the payload's buffer reachable.
		r.rdst = nil
		r.rstate = stateHeader
		if err := c.endFrame(); err != nil {
			return err
		}
	}
}

// readHeader parses and checks the next frame header and prepares for its
// payload.
func (c *Conn) readHeader() error {
	r := c.r
	if r.rbuf == nil || r.rend-r.rpos < 2 {
		return errNeedMore
	}
	b := (*r.rbuf)[r.rpos:r.rend]
	if len(b) < frame.HeaderLen(b[1]) {
		return errNeedMore
	}
	h, n, err := frame.Parse(b)
	if err != nil {
		return protocolError(CloseProtocolError, errProtocol, "%v", err)
	}
	if err := c.checkHeader(&h); err != nil {
		return err
	}
	if c.g.budget != nil && !frame.IsControl(h.Opcode) {
		// Waiting for room leaves the header unread, to be read again.
		if err := c.reserveFrame(&h); err != nil {
			return err
		}
	}
	r.rpos += n
	if c.cfg.pingInterval > 0 {
		c.lastSeen.Store(c.g.clock.Load())
	}
	c.beginFrame(&h)
	return nil
}

// reserveFrame takes from the memory budget what beginFrame is about to
// take from the pool for h's payload.
func (c *Conn) reserveFrame(h *frame.Header) error {
	if h.Opcode != frame.OpContinuation {
		return c.reserveRead(int64(bufpool.Cap(int(h.Length))), false)
	}
	l, old := len(*c.r.msg), cap(*c.r.msg)
	return c.reserveRead(int64(bufpool.GrowCap(l, old, int(h.Length), c.cfg.readMax)-old), false)
}

// beginFrame points rdst at where h's payload goes: a control frame's own
// small buffer, or the end of the message being assembled.
func (c *Conn) beginFrame(h *frame.Header) {
	r := c.r
	r.rh = *h
	r.rmask = 0
	r.rstate = statePayload
	r.rvalidate = false
	if frame.IsControl(h.Opcode) {
		r.rctl = bufpool.Get(int(h.Length))
		r.rdst = *r.rctl
		return
	}
	if h.Opcode != frame.OpContinuation {
		r.msgOp = Opcode(h.Opcode)
		r.compressed = h.Rsv != 0
		r.msg = bufpool.Get(int(h.Length))
		*r.msg = (*r.msg)[:0]
		r.text.Reset()
	} else {
		r.msg = c.grow(r.msg, int(h.Length), c.cfg.readMax)
	}
	start := len(*r.msg)
	*r.msg = (*r.msg)[:start+int(h.Length)]
	r.rdst = (*r.msg)[start:]
	r.rvalidate = r.msgOp == OpcodeText && !c.cfg.skipUTF8 && !r.compressed
}

// took unmasks the next n payload bytes, now in place at the start of
// rdst, and checks text as it goes, so that invalid UTF-8 is caught at
// the first bad piece rather than at the end of a long frame.
func (c *Conn) took(n int) error {
	r := c.r
	piece := r.rdst[:n]
	r.rdst = r.rdst[n:]
	if r.rh.Masked {
		r.rmask = frame.Mask(piece, r.rh.Key, r.rmask)
	}
	if r.rvalidate && !r.text.Write(piece) {
		return protocolError(CloseInvalidPayload, errInvalidUTF8, "invalid UTF-8 in text message")
	}
	return nil
}

// endFrame acts on a frame whose payload is complete. It lies on the path
// from the read loop to the handler, so what only some frames need is in
// functions of its own, keeping this frame on the stack small.
func (c *Conn) endFrame() error {
	r := c.r
	if frame.IsControl(r.rh.Opcode) {
		return c.endControl()
	}
	if !r.rh.Fin {
		return nil
	}
	msg := r.msg
	r.msg = nil
	if r.compressed {
		return c.endCompressed(msg)
	}
	if r.msgOp == OpcodeText && !c.cfg.skipUTF8 && !r.text.Complete() {
		return c.badText(msg, "text message ends inside a character")
	}
	c.dispatch(r.msgOp, msg)
	return nil
}

// endControl acts on a complete ping, pong or close frame.
func (c *Conn) endControl() error {
	buf := c.r.rctl
	c.r.rctl = nil
	defer bufpool.Put(buf)
	return c.control(c.r.rh.Opcode, *buf)
}

// endCompressed inflates a complete compressed message and dispatches it.
func (c *Conn) endCompressed(msg *[]byte) error {
	msg, err := c.inflate(msg)
	if err != nil {
		return err
	}
	if c.r.msgOp == OpcodeText && !c.cfg.skipUTF8 && !utf8.Valid(*msg) {
		return c.badText(msg, "invalid UTF-8 in text message")
	}
	c.dispatch(c.r.msgOp, msg)
	return nil
}

// badText gives back the buffer of a text message that is not UTF-8 and
// returns the error that closes the connection.
func (c *Conn) badText(msg *[]byte, why string) error {
	bufpool.Put(msg)
	return protocolError(CloseInvalidPayload, errInvalidUTF8, "%s", why)
}

// checkHeader applies RFC 6455 §5 to a header before any payload is read.
func (c *Conn) checkHeader(h *frame.Header) error {
	if h.Rsv != 0 {
		// RSV1 marks the first frame of a compressed message, and only that.
		deflated := h.Rsv == frame.Rsv1 && c.deflate != nil && (h.Opcode == frame.OpText || h.Opcode == frame.OpBinary)
		if !deflated {
			return protocolError(CloseProtocolError, errProtocol, "reserved bits %#x set without an extension that defines them", h.Rsv)
		}
	}
	if h.Masked != c.server {
		if c.server {
			return protocolError(CloseProtocolError, errProtocol, "client frame not masked")
		}
		return protocolError(CloseProtocolError, errProtocol, "server frame masked")
	}
	switch h.Opcode {
	case frame.OpClose, frame.OpPing, frame.OpPong:
		if !h.Fin {
			return protocolError(CloseProtocolError, errProtocol, "fragmented control frame")
		}
		if h.Length > 125 {
			return protocolError(CloseProtocolError, errProtocol, "control frame payload of %d bytes", h.Length)
		}
		return nil
	case frame.OpContinuation:
		if c.r.msg == nil {
			return protocolError(CloseProtocolError, errProtocol, "continuation frame without a message")
		}
	case frame.OpText, frame.OpBinary:
		if c.r.msg != nil {
			return protocolError(CloseProtocolError, errProtocol, "new message inside a fragmented one")
		}
	default:
		return protocolError(CloseProtocolError, errProtocol, "reserved opcode %#x", h.Opcode)
	}
	have := 0
	if c.r.msg != nil {
		have = len(*c.r.msg)
	}
	if h.Length > int64(c.cfg.readMax-have) {
		return protocolError(CloseMessageTooBig, errMessageTooBig, "message over %d bytes", c.cfg.readMax)
	}
	return nil
}

// inflate decompresses a whole compressed message, giving back its buffer,
// and keeps the peer's history when the peer uses context takeover.
func (c *Conn) inflate(msg *[]byte) (*[]byte, error) {
	var dict []byte
	if !c.deflate.peerNoContext {
		if c.deflate.window == nil {
			c.deflate.window = bufpool.Get(c.deflate.peerHistory())
			*c.deflate.window = (*c.deflate.window)[:0]
		}
		dict = *c.deflate.window
	}
	most := c.cfg.readMax + len(deflateTail)
	if err := c.holdMore(int64(bufpool.GrowCap(len(*msg), cap(*msg), len(deflateTail), most) - cap(*msg))); err != nil {
		bufpool.Put(msg)
		return nil, err
	}
	msg = c.grow(msg, len(deflateTail), most)
	out, err := c.cfg.codec.inflate(msg, dict, c.cfg.readMax, c)
	if err != nil {
		// The connection ends: finish gives back what it holds.
		bufpool.Put(msg)
		return nil, err
	}
	c.releaseHeld(int64(cap(*msg)))
	bufpool.Put(msg)
	if c.deflate.window != nil {
		slideWindow(c.deflate.window, *out, c.deflate.peerHistory())
	}
	return out, nil
}

// control handles a ping, pong or close frame's payload p.
func (c *Conn) control(op byte, p []byte) error {
	switch op {
	case frame.OpPing:
		if err := c.writeFrame(OpcodePong, p); err != nil && !errors.Is(err, errClosed) {
			return fmt.Errorf("gws: answering ping: %w", err)
		}
		c.handler.OnPing(c, p)
	case frame.OpPong:
		c.handler.OnPong(c, p)
	default:
		return c.readClose(p)
	}
	return nil
}
