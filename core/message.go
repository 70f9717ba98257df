package gws

import (
	"sync"

	"github.com/gwsgo/gws/core/internal/bufpool"
)

// HandlerFunc is a middleware: it receives every message before OnMessage
// and calls msg.Next(socket) to pass it on, or returns without calling it to
// stop the message there.
type HandlerFunc func(socket *Conn, msg *Message)

// Message is a complete text or binary message. Its payload lives in a
// pooled buffer: call Close once done with it so the buffer is reused (a
// message never closed is left to the garbage collector). Bytes must not be
// used after Close.
type Message struct {
	// Opcode is OpcodeText or OpcodeBinary.
	Opcode Opcode

	buf     *[]byte
	chain   []HandlerFunc
	next    int
	handler EventHandler
	closed  bool
}

var messagePool = sync.Pool{New: func() any { return new(Message) }}

// Bytes returns the payload. The slice is valid until Close.
func (m *Message) Bytes() []byte {
	if m.buf == nil {
		return nil
	}
	return *m.buf
}

// Close gives the payload's buffer back to the pool. Calling it more than
// once is harmless.
func (m *Message) Close() {
	if m.buf != nil {
		bufpool.Put(m.buf)
		m.buf = nil
	}
	m.closed = true
}

// Next passes the message to the next middleware, or to the handler's
// OnMessage after the last one. Each link calls it at most once.
func (m *Message) Next(socket *Conn) {
	if m.next < len(m.chain) {
		f := m.chain[m.next]
		m.next++
		f(socket, m)
		return
	}
	if h := m.handler; h != nil {
		m.handler = nil
		h.OnMessage(socket, m)
	}
}

// Recovery returns a middleware that recovers a panic raised further down
// the chain (later middleware or OnMessage), hands the panic value to report
// and lets the connection and the server go on. Put it first in Use.
func Recovery(report func(exception any)) HandlerFunc {
	return func(socket *Conn, msg *Message) {
		defer func() {
			if e := recover(); e != nil {
				report(e)
			}
		}()
		msg.Next(socket)
	}
}

// dispatch runs msg through the middleware chain and the handler on the
// calling goroutine. A message the handler closed is recycled; one it kept
// may still be in use elsewhere, so it is left to the garbage collector.
func (c *Conn) dispatch(op Opcode, buf *[]byte) {
	m := messagePool.Get().(*Message)
	// Set field by field: a composite literal is built on the stack first.
	m.Opcode, m.buf, m.chain, m.next, m.handler, m.closed = op, buf, c.up.middlewares, 0, c.handler, false
	if c.pq != nil {
		c.pq.push(c, m)
		return
	}
	c.handle(m)
}

// handle runs m through the chain on the calling goroutine, straight to
// OnMessage when there is no middleware (one stack frame fewer on the
// read loop's path, see writeOut).
func (c *Conn) handle(m *Message) {
	if len(m.chain) == 0 {
		h := m.handler
		m.handler = nil
		h.OnMessage(c, m)
	} else {
		m.Next(c)
	}
	if m.closed {
		*m = Message{}
		messagePool.Put(m)
	}
}
