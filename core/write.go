package gws

import (
	"compress/flate"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

// Write sends payload as one message of type op (OpcodeText or
// OpcodeBinary; control opcodes are sent as control frames). It is safe for
// concurrent use: each call writes one whole frame.
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

// writeFrame encodes header and payload into one pooled buffer so a message
// costs one write system call, and writes it under the write lock.
func (c *Conn) writeFrame(op Opcode, p []byte) error {
	if frame.IsControl(byte(op)) && len(p) > 125 {
		return ErrControlTooBig
	}
	if c.deflate != nil && !frame.IsControl(byte(op)) && len(p) >= c.opts.CompressThreshold {
		return c.writeCompressed(op, p)
	}
	h := frame.Header{Fin: true, Opcode: byte(op), Masked: !c.server, Length: int64(len(p))}
	hs := frame.Size(h.Length, h.Masked)
	buf := bufpool.Get(hs + len(p))
	b := *buf
	if h.Masked {
		randomKey(&h.Key)
	}
	frame.Encode(b, h)
	copy(b[hs:], p)
	if h.Masked {
		frame.Mask(b[hs:], h.Key, 0)
	}
	err := c.writeRaw(b, op == OpcodeClose)
	bufpool.Put(buf)
	return err
}

// writeRaw writes encoded frames. After a close frame nothing more may be
// sent (RFC 6455 §5.5.1), so later writes get ErrConnClosed. A failed write
// leaves the stream in an unknown state: the connection is dropped and the
// error reported by OnError.
func (c *Conn) writeRaw(b []byte, isClose bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b, isClose)
}

// writeCompressed sends p as one compressed message. Without context
// takeover any pooled writer will do, and compressing happens outside the
// write lock; with it, the connection's own writer must see messages in
// the order they go out, so it compresses under the lock.
func (c *Conn) writeCompressed(op Opcode, p []byte) error {
	level := c.deflate.level(c.opts)
	if c.deflate.ownNoContext || level == flate.HuffmanOnly {
		comp := getCompressor(level)
		buf, start := comp.compressFrame(op, p, !c.server, true)
		putCompressor(level, comp)
		err := c.writeRaw((*buf)[start:], false)
		bufpool.Put(buf)
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return ErrConnClosed
	}
	if c.ownComp == nil {
		c.ownComp = &compressor{}
		c.ownComp.fw, _ = flate.NewWriter(&c.ownComp.out, level)
	}
	buf, start := c.ownComp.compressFrame(op, p, !c.server, false)
	err := c.writeLocked((*buf)[start:], false)
	bufpool.Put(buf)
	return err
}

// writeLocked writes under c.wmu.
func (c *Conn) writeLocked(b []byte, isClose bool) error {
	if c.closeSent {
		return ErrConnClosed
	}
	if isClose {
		c.closeSent = true
	}
	if c.opts.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	}
	if _, err := c.nc.Write(b); err != nil {
		err = fmt.Errorf("gws: write: %w", err)
		c.closeSent = true
		if c.werr == nil && !c.closing.Load() {
			c.werr = err
		}
		c.closing.Store(true)
		c.nc.Close()
		return err
	}
	return nil
}

// randomKey fills a masking key from crypto/rand: RFC 6455 §5.3 wants keys
// an intermediary cannot predict.
func randomKey(k *[4]byte) { rand.Read(k[:]) }
