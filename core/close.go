package gws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/gwsgo/gws/core/internal/bufpool"
)

// Errors a connection is failed with, as the Err of its *CloseError;
// callers branch on the CloseError's Code.
var (
	errProtocol      = errors.New("gws: protocol error")
	errInvalidUTF8   = errors.New("gws: invalid UTF-8")
	errMessageTooBig = errors.New("gws: message too big")
)

// CloseError is the error a connection ends with when it was failed, or
// closed by a close frame; Code is the close code sent or received.
type CloseError struct {
	Code   Code
	Reason string
	Err    error // the cause, for errors.Is
}

func (e *CloseError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("gws: close %d: %v", e.Code, e.Err)
	}
	return fmt.Sprintf("gws: close %d %s", e.Code, e.Reason)
}

func (e *CloseError) Unwrap() error { return e.Err }

// protocolError builds the error that fails a connection with code.
func protocolError(code Code, cause error, format string, args ...any) *CloseError {
	msg := fmt.Sprintf(format, args...)
	return &CloseError{Code: code, Reason: msg, Err: fmt.Errorf("%w: %s", cause, msg)}
}

// Close drops the TCP connection without a close handshake; the
// connection then ends with OnClose(CloseAbnormal). Use WriteClose for an
// orderly close.
func (c *Conn) Close() error {
	c.closedBy(causeLocal)
	c.closing.Store(true)
	return c.closeNet()
}

// WriteClose starts the closing handshake: it sends a close frame with code
// and reason (the reason is cut to the 123 bytes a close frame can carry)
// and waits up to ServerOptions.CloseTimeout for the peer's answer before
// dropping the connection. Later writes return errClosed.
func (c *Conn) WriteClose(code Code, reason []byte) error {
	c.closedBy(causeLocal)
	err := c.sendClose(code, reason)
	if err == nil {
		c.nc.SetReadDeadline(time.Now().Add(c.cfg.closeTimeout))
	}
	return err
}

// sendClose writes a close frame; CloseNoStatus sends one with no payload.
func (c *Conn) sendClose(code Code, reason []byte) error {
	p := encodeClose(code, reason)
	err := c.writeFrame(OpcodeClose, *p)
	bufpool.Put(p)
	return err
}

// encodeClose returns a close frame's payload: the code, then the reason
// cut to the 123 bytes that fit; nothing for CloseNoStatus.
func encodeClose(code Code, reason []byte) *[]byte {
	if code == CloseNoStatus {
		return bufpool.Get(0)
	}
	reason = reason[:min(len(reason), 123)]
	buf := bufpool.Get(2 + len(reason))
	binary.BigEndian.PutUint16(*buf, uint16(code))
	copy((*buf)[2:], reason)
	return buf
}

// readClose handles the peer's close frame: it checks the payload (RFC 6455
// §5.5.1, §7.4), keeps the code for finish to answer with (unless gws
// started the closing handshake), and ends the read loop.
func (c *Conn) readClose(p []byte) error {
	code := CloseNoStatus
	var reason []byte
	switch {
	case len(p) == 1:
		return protocolError(CloseProtocolError, errProtocol, "close frame with a 1-byte payload")
	case len(p) >= 2:
		code = Code(binary.BigEndian.Uint16(p))
		if !code.validOnWire() {
			return protocolError(CloseProtocolError, errProtocol, "invalid close code %d", code)
		}
		reason = p[2:]
		if !c.cfg.skipUTF8 && !utf8.Valid(reason) {
			return protocolError(CloseInvalidPayload, errInvalidUTF8, "close reason is not UTF-8")
		}
	}
	c.r.peerCode = code
	c.r.peerReason = append([]byte(nil), reason...)
	return errPeerClosed
}

// finish ends the connection after the read loop stopped with err: it fails
// the connection with a close frame when err is a protocol error, reports
// the error, drops TCP, releases buffers, calls OnClose and cancels Context,
// exactly once.
func (c *Conn) finish(err error) {
	code, reason := CloseAbnormal, []byte(nil)
	// The read loop returns its *CloseError unwrapped: a type assertion,
	// unlike errors.As, costs no allocation on the way out of every
	// connection.
	if errors.Is(err, errPeerClosed) {
		// The answer to the peer's close goes out here, not in readClose:
		// this is the read loop's own depth, where the frames that parsed
		// the close no longer take stack, and a goroutine that started at
		// 2 KB does not have to grow on the way out of every connection.
		if serr := c.sendClose(c.r.peerCode, nil); serr != nil && !errors.Is(serr, errClosed) {
			err = serr
		}
	}
	ce, _ := err.(*CloseError)
	le, werr := c.localErr.Load(), error(nil)
	switch {
	case le != nil:
		code, reason = le.Code, []byte(le.Reason)
		c.report(le)
	case errors.Is(err, errPeerClosed):
		code, reason = c.r.peerCode, c.r.peerReason
	case ce != nil:
		code, reason = ce.Code, []byte(ce.Reason)
		if c.sendClose(ce.Code, nil) == nil {
			c.linger()
		}
		c.report(err)
	default:
		c.wmu.Lock()
		var quiet bool
		if c.werr != nil {
			werr = *c.werr
		}
		quiet = c.closeSent
		c.wmu.Unlock()
		switch {
		case werr != nil:
			c.report(werr)
		case !quiet && !c.closing.Load():
			c.report(lostError(err))
		}
	}
	c.wmu.Lock()
	c.closeSent = true
	c.wmu.Unlock()
	c.closing.Store(true)
	if s, ok := c.nc.(streamEnder); ok && code != CloseAbnormal && c.localErr.Load() == nil {
		// Close frames were exchanged: end an HTTP/2 stream with
		// END_STREAM, not a reset (RFC 8441 §5).
		s.end()
	} else {
		c.nc.Close()
	}
	if c.pq != nil {
		c.pq.drain()
	}
	c.endQueue()
	c.releaseRead()
	c.releaseBuffer()
	if c.deflate != nil && c.deflate.window != nil {
		bufpool.Put(c.deflate.window)
		c.deflate.window = nil
	}
	for _, f := range c.ctx.ending() {
		f()
	}
	c.g.countEnd(code, c.endCause(err, ce, le, werr))
	// After OnClose, even if it panics: Shutdown waits for untrack, and
	// whoever waits on Context may count on OnClose having run.
	defer c.g.untrack(c)
	defer c.ctx.end()
	c.handler.OnClose(c, code, reason)
}

// errLostEOF is what OnError gets when the peer closed TCP without a close
// frame, the usual way a connection is lost, made once.
var errLostEOF = fmt.Errorf("gws: connection lost: %w", io.EOF)

// lostError wraps err, why the connection ended without a close frame.
func lostError(err error) error {
	if err == io.EOF {
		return errLostEOF
	}
	return fmt.Errorf("gws: connection lost: %w", err)
}

func (c *Conn) report(err error) {
	if l := c.cfg.logger; l != nil {
		l.Warn("gws: connection error", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
	c.handler.OnError(c, err)
}

// linger gives the peer a moment to read the close frame gws sent when it
// failed the connection. Closing a socket with unread input makes the kernel
// send RST, which can destroy the close frame before the peer reads it; so
// gws half-closes, discards input until the peer closes its side or a short
// timeout passes, and only then closes.
func (c *Conn) linger() {
	hc, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || hc.CloseWrite() != nil {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(min(c.cfg.closeTimeout, time.Second)))
	var sink [512]byte
	for {
		if _, err := c.nc.Read(sink[:]); err != nil {
			return
		}
	}
}

// closeAsync queues a close frame, past any queue limit, and arms the
// close timeout once it is written.
func (c *Conn) closeAsync(code Code, reason []byte) {
	c.closedBy(causeLocal) // unless a shutdown said so first
	p := encodeClose(code, reason)
	buf, start := c.encode(OpcodeClose, *p)
	bufpool.Put(p)
	f := outFrame{b: (*buf)[start:], buf: buf, isClose: true, callback: func(err error) {
		if err == nil {
			c.nc.SetReadDeadline(time.Now().Add(c.cfg.closeTimeout))
		}
	}}
	c.queue().mu.Lock()
	c.push(f)
}

// tryClose sends a close frame if the connection can take it at once: a
// slow consumer's socket buffer is usually full, and a writer may hold the
// write lock for as long as WriteTimeout, so this neither waits for the
// lock nor lets the write block.
func (c *Conn) tryClose(code Code, reason string) {
	if !c.wmu.TryLock() {
		return
	}
	defer c.wmu.Unlock()
	p := encodeClose(code, []byte(reason))
	buf, start := c.encode(OpcodeClose, *p)
	bufpool.Put(p)
	if !c.closeSent {
		c.closeSent = true
		c.wdeadline.Store(deadlineUnknown)
		c.nc.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		c.nc.Write((*buf)[start:])
	}
	bufpool.Put(buf)
}

// fail drops the connection for a reason of gws's own; the read loop then
// reports err with OnError and its code with OnClose. It reports whether
// this call was the one that dropped it.
func (c *Conn) fail(err *CloseError) bool {
	if !c.localErr.CompareAndSwap(nil, err) {
		return false
	}
	c.closing.Store(true)
	c.closeNet()
	return true
}

// onEnd registers f to run when the connection ends, before OnClose; it
// reports false, without registering, if the connection has ended already.
func (c *Conn) onEnd(f func()) bool { return c.ctx.addHook(f) }
