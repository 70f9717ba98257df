package gws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/gwsgo/gws/core/internal/bufpool"
)

// WriteClose starts the closing handshake: it sends a close frame with code
// and reason (the reason is cut to the 123 bytes a close frame can carry)
// and waits up to ServerOptions.CloseTimeout for the peer's answer before
// dropping the connection. Later writes return ErrConnClosed.
func (c *Conn) WriteClose(code Code, reason []byte) error {
	err := c.sendClose(code, reason)
	if err == nil {
		c.nc.SetReadDeadline(time.Now().Add(c.opts.CloseTimeout))
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
// §5.5.1, §7.4), answers with the same code unless gws started the closing
// handshake, and ends the read loop.
func (c *Conn) readClose(p []byte) error {
	code := CloseNoStatus
	var reason []byte
	switch {
	case len(p) == 1:
		return protocolError(CloseProtocolError, ErrProtocol, "close frame with a 1-byte payload")
	case len(p) >= 2:
		code = Code(binary.BigEndian.Uint16(p))
		if !code.validOnWire() {
			return protocolError(CloseProtocolError, ErrProtocol, "invalid close code %d", code)
		}
		reason = p[2:]
		if !c.opts.SkipUTF8Validation && !utf8.Valid(reason) {
			return protocolError(CloseInvalidPayload, ErrInvalidUTF8, "close reason is not UTF-8")
		}
	}
	c.peerCode = code
	c.peerReason = append([]byte(nil), reason...)
	if err := c.sendClose(code, nil); err != nil && !errors.Is(err, ErrConnClosed) {
		return err
	}
	return errPeerClosed
}

// finish ends the connection after the read loop stopped with err: it fails
// the connection with a close frame when err is a protocol error, reports
// the error, drops TCP, releases buffers, cancels Context and calls OnClose,
// exactly once.
func (c *Conn) finish(err error) {
	code, reason := CloseAbnormal, []byte(nil)
	var ce *CloseError
	switch le := c.localErr.Load(); {
	case le != nil:
		code, reason = le.Code, []byte(le.Reason)
		c.report(le)
	case errors.Is(err, errPeerClosed):
		code, reason = c.peerCode, c.peerReason
	case errors.As(err, &ce):
		code, reason = ce.Code, []byte(ce.Reason)
		if c.sendClose(ce.Code, nil) == nil {
			c.linger()
		}
		c.report(err)
	default:
		c.wmu.Lock()
		werr, quiet := c.werr, c.closeSent
		c.wmu.Unlock()
		switch {
		case werr != nil:
			c.report(werr)
		case !quiet && !c.closing.Load():
			c.report(fmt.Errorf("gws: connection lost: %w", err))
		}
	}
	c.wmu.Lock()
	c.closeSent = true
	c.wmu.Unlock()
	c.closing.Store(true)
	c.nc.Close()
	if c.pq != nil {
		c.pq.drain()
	}
	c.wq.mu.Lock()
	c.wq.ended = true
	queued := c.wq.items
	c.wq.items = nil
	c.wq.mu.Unlock()
	for i := range queued {
		queued[i].release(ErrConnClosed)
	}
	c.wq.drained.Wait()
	c.releaseBuffer()
	if c.msg != nil {
		bufpool.Put(c.msg)
		c.msg = nil
	}
	if c.rctl != nil {
		bufpool.Put(c.rctl)
		c.rctl = nil
	}
	if c.peerWindow != nil {
		bufpool.Put(c.peerWindow)
		c.peerWindow = nil
	}
	c.cancel()
	c.endMu.Lock()
	c.ended = true
	hooks := c.hooks
	c.hooks = nil
	c.endMu.Unlock()
	for _, f := range hooks {
		f()
	}
	defer c.up.untrack(c) // after OnClose: Shutdown waits for it
	c.handler.OnClose(c, code, reason)
}

func (c *Conn) report(err error) {
	if c.opts.LogEnabled {
		c.opts.Logger.Warn("gws: connection error", "remote", c.nc.RemoteAddr().String(), "err", err)
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
	c.nc.SetReadDeadline(time.Now().Add(min(c.opts.CloseTimeout, time.Second)))
	var sink [512]byte
	for {
		if _, err := c.nc.Read(sink[:]); err != nil {
			return
		}
	}
}
