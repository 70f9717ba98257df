package gws

import (
	"compress/flate"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

// Write sends payload as one message of type op (OpcodeText or
// OpcodeBinary; control opcodes are sent as control frames). It is safe for
// concurrent use: each call writes one whole frame, and returns once it is
// written or WriteTimeout has passed.
func (c *Conn) Write(op Opcode, payload []byte) error {
	return c.writeFrame(op, payload)
}

// WriteString sends s as a text message.
func (c *Conn) WriteString(s string) error {
	buf := bufpool.Get(len(s))
	copy(*buf, s)
	err := c.writeFrame(OpcodeText, *buf)
	bufpool.Put(buf)
	return err
}

// WritePing sends a ping with payload p (at most 125 bytes).
func (c *Conn) WritePing(p []byte) error { return c.writeFrame(OpcodePing, p) }

// WritePong sends a pong with payload p (at most 125 bytes).
func (c *Conn) WritePong(p []byte) error { return c.writeFrame(OpcodePong, p) }

// writeFrame encodes and writes one frame under the write lock.
func (c *Conn) writeFrame(op Opcode, p []byte) error {
	if frame.IsControl(byte(op)) && len(p) > 125 {
		return errControlTooBig
	}
	// The other ways out lock in functions of their own, so that this
	// frame, on the path from the read loop through a handler to write(2),
	// stays small (see writeOut).
	if c.ownContext(op, p) {
		return c.writeOwnContext(op, p)
	}
	if len(p) >= largeFrame && c.server && !c.compresses(op, p) {
		return c.writeLarge(op, p)
	}
	buf, start := c.encode(op, p)
	c.wmu.Lock()
	err := c.writeLocked((*buf)[start:], op == OpcodeClose)
	if err == nil {
		c.countOut(op, len(p))
	}
	c.wmu.Unlock()
	bufpool.Put(buf)
	return err
}

// ownContext reports whether p goes out compressed with the connection's
// own compression history (server context takeover), which must be
// compressed under the write lock, in the order messages reach the wire.
func (c *Conn) ownContext(op Opcode, p []byte) bool {
	return c.compresses(op, p) && !c.deflate.ownNoContext && c.deflate.level(c.cfg) != flate.HuffmanOnly
}

// compresses reports whether a message goes out compressed.
func (c *Conn) compresses(op Opcode, p []byte) bool {
	return c.deflate != nil && !frame.IsControl(byte(op)) && len(p) >= c.cfg.compressThreshold
}

// encode builds one frame, header and payload (compressed when
// negotiated, without context), in a pooled buffer starting at start, so
// that a message costs one write system call.
func (c *Conn) encode(op Opcode, p []byte) (buf *[]byte, start int) {
	if c.compresses(op, p) {
		return c.encodeCompressed(op, p)
	}
	if !c.server {
		return encodeMasked(op, p), 0
	}
	hs := frame.Size(int64(len(p)), false)
	buf = bufpool.Get(hs + len(p))
	frame.Encode(*buf, frame.Header{Fin: true, Opcode: byte(op), Length: int64(len(p))})
	copy((*buf)[hs:], p)
	return buf, 0
}

// encodeMasked is encode for the client side, whose frames are masked
// with a fresh key each.
func encodeMasked(op Opcode, p []byte) *[]byte {
	h := frame.Header{Fin: true, Opcode: byte(op), Masked: true, Length: int64(len(p))}
	randomKey(&h.Key)
	hs := frame.Size(h.Length, true)
	buf := bufpool.Get(hs + len(p))
	b := *buf
	frame.Encode(b, h)
	copy(b[hs:], p)
	frame.Mask(b[hs:], h.Key, 0)
	return buf
}

// encodeCompressed is encode for a message that goes out compressed,
// without context.
func (c *Conn) encodeCompressed(op Opcode, p []byte) (buf *[]byte, start int) {
	level := c.deflate.level(c.cfg)
	comp := c.cfg.codec.getCompressor(level)
	buf, start = comp.compressFrame(op, p, !c.server, true)
	c.cfg.codec.putCompressor(level, comp)
	return buf, start
}

// largeFrame is the payload size from which a server frame goes out as
// header and payload in one writev instead of being copied behind its
// header: from here the copy costs more than the extra iovec.
const largeFrame = 8 << 10

// writeLarge writes an unmasked frame without copying its payload, under
// c.wmu, which also guards the queue's header array and vector.
func (c *Conn) writeLarge(op Opcode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return errClosed
	}
	q := c.queue()
	n := frame.Encode(q.hdr[:], frame.Header{Fin: true, Opcode: byte(op), Length: int64(len(p))})
	q.vec = append(q.vec[:0], q.hdr[:n], p)
	q.out = q.vec
	c.setWriteDeadline()
	r := c.reads.Load()
	_, err := c.writeBuffers(&q.out)
	clear(q.vec)
	if err != nil {
		return c.writeFailed(err)
	}
	c.wroteAt.Store(r)
	c.countOut(op, len(p))
	return nil
}

// writeOwnContext is writeWithContext under c.wmu.
func (c *Conn) writeOwnContext(op Opcode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeWithContext(op, p)
}

// writeWithContext compresses p with the connection's own writer and
// writes it; c.wmu is held.
func (c *Conn) writeWithContext(op Opcode, p []byte) error {
	if c.closeSent {
		return errClosed
	}
	if c.deflate.own == nil {
		c.deflate.own = c.cfg.codec.newCompressor(c.deflate.level(c.cfg))
	}
	buf, start := c.deflate.own.compressFrame(op, p, !c.server, false)
	err := c.writeLocked((*buf)[start:], false)
	bufpool.Put(buf)
	if err == nil {
		c.countOut(op, len(p))
	}
	return err
}

// writeLocked writes under c.wmu. After a close frame nothing more may be
// sent (RFC 6455 §5.5.1), so later writes get errClosed. A failed write
// leaves the stream in an unknown state: the connection is dropped and the
// error reported by OnError.
func (c *Conn) writeLocked(b []byte, isClose bool) error {
	if c.closeSent {
		return errClosed
	}
	if isClose {
		c.closeSent = true
	}
	r := c.reads.Load()
	if err := c.writeOut(b); err != nil {
		return c.writeFailed(err)
	}
	c.wroteAt.Store(r)
	return nil
}

// writeOut writes all of b within WriteTimeout, waiting while the socket
// is full; c.wmu is held.
//
// With a file descriptor it writes inside RawConn.Write, which honours the
// write deadline as net.Conn.Write does in far fewer stack frames, and it
// puts a deadline on the socket only once the socket is full (writeAll):
// until then a write cannot block, and moving a deadline goes deep into the
// runtime's timers. The read loop's goroutine runs handlers and their
// writes, and a path that fits in its first 2 KB of stack keeps each idle
// connection from holding a 4 KB stack for good (Go does not shrink the
// stack of a goroutine parked in the poller).
func (c *Conn) writeOut(b []byte) error {
	if c.raw == nil {
		c.setWriteDeadline()
		_, err := c.nc.Write(b)
		return err
	}
	if c.wdeadline.Load() != 0 {
		// A deadline is on the socket, and RawConn.Write fails at once
		// if it has passed: keep it ahead.
		c.setWriteDeadline()
	}
	c.wtry, c.wtryErr = b, 0
	var err error
	if c.pc != nil {
		err = c.pc.writeLoop(c.rawWrite)
	} else {
		err = c.raw.Write(c.writeFn)
	}
	c.wtry = nil
	if c.wtryErr != 0 {
		return os.NewSyscallError("write", c.wtryErr)
	}
	return err
}

// deadlineUnknown in Conn.wdeadline stands for a write deadline gws did
// not set (SetDeadline's, or tryClose's): the next write replaces it.
const deadlineUnknown = -1

// setWriteDeadline gives the next write WriteTimeout to complete. Moving a
// socket deadline costs a runtime timer update, which showed as 5% of an
// echo server's CPU time when done per write, so the deadline is only
// pushed forward once a quarter of it has passed: a write gets between
// 3/4 of WriteTimeout and all of it. The check reads only the monotonic
// clock (time.Since), one clock reading where time.Now takes two.
func (c *Conn) setWriteDeadline() {
	wt := c.cfg.writeTimeout
	if wt <= 0 {
		return
	}
	now := int64(time.Since(monoStart))
	if now+int64(wt)-c.wdeadline.Load() > int64(wt)/4 {
		c.nc.SetWriteDeadline(time.Now().Add(wt))
		c.wdeadline.Store(now + int64(wt))
	}
}

// monoStart is the origin of the monotonic clock setWriteDeadline keeps
// deadlines in.
var monoStart = time.Now()

// writeFailed drops the connection after a failed write; c.wmu is held.
func (c *Conn) writeFailed(err error) error {
	err = fmt.Errorf("gws: write: %w", err)
	c.closeSent = true
	if c.werr == nil && !c.closing.Load() {
		c.werr = &err // a pointer: rare, and 8 bytes less in every Conn
	}
	c.closing.Store(true)
	c.closeNet()
	return err
}

// randomKey fills a masking key from crypto/rand: RFC 6455 §5.3 wants keys
// an intermediary cannot predict.
func randomKey(k *[4]byte) { rand.Read(k[:]) }
