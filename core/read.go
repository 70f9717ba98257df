package gws

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

// errPeerClosed ends the read loop after the peer's close frame was handled.
var errPeerClosed = errors.New("gws: closed by peer")

// ReadLoop delivers the connection's events: OnOpen, then every message,
// ping and pong, then OnClose. It returns when the connection has ended and
// its resources are released. Run it on the goroutine that should handle the
// events (adapters run it on the HTTP handler's goroutine).
func (c *Conn) ReadLoop() {
	c.handler.OnOpen(c)
	var err error
	for err == nil {
		err = c.readFrame()
	}
	c.finish(err)
}

// fill makes at least n bytes available in c.rbuf[c.rpos:c.rend]. n is
// never more than half the read buffer.
func (c *Conn) fill(n int) error {
	switch {
	case c.rbuf == nil && c.raw == nil:
		c.takeBuffer(n)
	case c.rbuf != nil && c.rpos+n > len(*c.rbuf):
		c.rend = copy(*c.rbuf, (*c.rbuf)[c.rpos:c.rend])
		c.rpos = 0
	}
	for c.rend-c.rpos < n {
		if c.raw != nil {
			c.rerr = nil
			if err := c.raw.Read(c.readyFn); err != nil {
				return err
			}
			if c.rerr != nil {
				return c.rerr
			}
			continue
		}
		m, err := c.nc.Read((*c.rbuf)[c.rend:])
		c.rend += m
		if err != nil && c.rend-c.rpos < n {
			return err
		}
	}
	return nil
}

// readFrame reads one frame and acts on it. It returns nil while the
// connection goes on.
func (c *Conn) readFrame() error {
	if c.rpos == c.rend && c.raw != nil {
		// Nothing in flight: hold no buffer while waiting for the peer.
		c.releaseBuffer()
	}
	if err := c.fill(2); err != nil {
		return err
	}
	hl := frame.HeaderLen((*c.rbuf)[c.rpos+1])
	if err := c.fill(hl); err != nil {
		return err
	}
	h, n, err := frame.Parse((*c.rbuf)[c.rpos:c.rend])
	if err != nil {
		return protocolError(CloseProtocolError, ErrProtocol, "%v", err)
	}
	c.rpos += n
	if c.opts.PingInterval > 0 {
		c.lastSeen.Store(c.up.clock.Load())
	}
	if err := c.checkHeader(&h); err != nil {
		return err
	}
	if frame.IsControl(h.Opcode) {
		return c.readControl(&h)
	}
	return c.readData(&h)
}

// checkHeader applies RFC 6455 §5 to a header before any payload is read.
func (c *Conn) checkHeader(h *frame.Header) error {
	if h.Rsv != 0 {
		// RSV1 marks the first frame of a compressed message, and only that.
		deflated := h.Rsv == frame.Rsv1 && c.deflate != nil && (h.Opcode == frame.OpText || h.Opcode == frame.OpBinary)
		if !deflated {
			return protocolError(CloseProtocolError, ErrProtocol, "reserved bits %#x set without an extension that defines them", h.Rsv)
		}
	}
	if h.Masked != c.server {
		if c.server {
			return protocolError(CloseProtocolError, ErrProtocol, "client frame not masked")
		}
		return protocolError(CloseProtocolError, ErrProtocol, "server frame masked")
	}
	switch h.Opcode {
	case frame.OpClose, frame.OpPing, frame.OpPong:
		if !h.Fin {
			return protocolError(CloseProtocolError, ErrProtocol, "fragmented control frame")
		}
		if h.Length > 125 {
			return protocolError(CloseProtocolError, ErrProtocol, "control frame payload of %d bytes", h.Length)
		}
		return nil
	case frame.OpContinuation:
		if c.msg == nil {
			return protocolError(CloseProtocolError, ErrProtocol, "continuation frame without a message")
		}
	case frame.OpText, frame.OpBinary:
		if c.msg != nil {
			return protocolError(CloseProtocolError, ErrProtocol, "new message inside a fragmented one")
		}
	default:
		return protocolError(CloseProtocolError, ErrProtocol, "reserved opcode %#x", h.Opcode)
	}
	have := 0
	if c.msg != nil {
		have = len(*c.msg)
	}
	if h.Length > int64(c.opts.ReadMaxPayloadSize-have) {
		return protocolError(CloseMessageTooBig, ErrMessageTooBig, "message over %d bytes", c.opts.ReadMaxPayloadSize)
	}
	return nil
}

// readData appends a data frame's payload to the message being assembled
// and dispatches the message on its final frame.
func (c *Conn) readData(h *frame.Header) error {
	if h.Opcode != frame.OpContinuation {
		c.msgOp = Opcode(h.Opcode)
		c.msgCompressed = h.Rsv != 0
		c.msg = bufpool.Get(int(h.Length))
		*c.msg = (*c.msg)[:0]
		c.text.Reset()
	} else {
		c.msg = bufpool.Grow(c.msg, int(h.Length))
	}
	start := len(*c.msg)
	*c.msg = (*c.msg)[:start+int(h.Length)]
	text := c.msgOp == OpcodeText && !c.opts.SkipUTF8Validation
	if err := c.readPayload((*c.msg)[start:], h, text && !c.msgCompressed); err != nil {
		return err
	}
	if !h.Fin {
		return nil
	}
	msg := c.msg
	c.msg = nil
	if c.msgCompressed {
		var err error
		if msg, err = c.inflate(msg); err != nil {
			return err
		}
		if text && !utf8.Valid(*msg) {
			bufpool.Put(msg)
			return protocolError(CloseInvalidPayload, ErrInvalidUTF8, "invalid UTF-8 in text message")
		}
	} else if text && !c.text.Complete() {
		bufpool.Put(msg)
		return protocolError(CloseInvalidPayload, ErrInvalidUTF8, "text message ends inside a character")
	}
	c.dispatch(c.msgOp, msg)
	return nil
}

// inflate decompresses a whole compressed message, giving back its buffer,
// and keeps the peer's history when the peer uses context takeover.
func (c *Conn) inflate(msg *[]byte) (*[]byte, error) {
	var dict []byte
	if !c.deflate.peerNoContext {
		if c.peerWindow == nil {
			c.peerWindow = bufpool.Get(c.deflate.peerHistory())
			*c.peerWindow = (*c.peerWindow)[:0]
		}
		dict = *c.peerWindow
	}
	msg = bufpool.Grow(msg, len(deflateTail))
	out, err := inflate(msg, dict, c.opts.ReadMaxPayloadSize)
	bufpool.Put(msg)
	if err != nil {
		return nil, err
	}
	if c.peerWindow != nil {
		slideWindow(c.peerWindow, *out, c.deflate.peerHistory())
	}
	return out, nil
}

// readPayload reads a frame's payload into dst and unmasks it piece by
// piece as bytes arrive, checking text as it goes, so that invalid UTF-8 is
// caught at the first bad piece rather than at the end of a long frame.
// Large payloads are read straight into dst, skipping the read buffer.
func (c *Conn) readPayload(dst []byte, h *frame.Header, validate bool) error {
	pos := 0
	for len(dst) > 0 {
		var n int
		if c.rpos < c.rend {
			n = copy(dst, (*c.rbuf)[c.rpos:c.rend])
			c.rpos += n
		} else if len(dst) <= len(*c.rbuf)/2 {
			// Take whatever has arrived, not len(dst): a text frame
			// trickling in is checked piece by piece.
			if err := c.fill(1); err != nil {
				return err
			}
			continue
		} else {
			var err error
			n, err = c.nc.Read(dst)
			if n == 0 && err != nil {
				return err
			}
		}
		piece := dst[:n]
		dst = dst[n:]
		if h.Masked {
			pos = frame.Mask(piece, h.Key, pos)
		}
		if validate && !c.text.Write(piece) {
			return protocolError(CloseInvalidPayload, ErrInvalidUTF8, "invalid UTF-8 in text message")
		}
	}
	return nil
}

// readControl reads and handles a ping, pong or close frame.
func (c *Conn) readControl(h *frame.Header) error {
	buf := bufpool.Get(int(h.Length))
	defer bufpool.Put(buf)
	p := *buf
	if err := c.readPayload(p, h, false); err != nil {
		return err
	}
	switch h.Opcode {
	case frame.OpPing:
		if err := c.writeFrame(OpcodePong, p); err != nil && !errors.Is(err, ErrConnClosed) {
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
