package gws

import (
	"sync"

	"github.com/gwsgo/gws/core/internal/bufpool"
)

// Message is a complete text or binary message. Its payload lives in a
// pooled buffer: call Close once done with it so the buffer is reused (a
// message never closed is left to the garbage collector). Bytes must not be
// used after Close.
type Message struct {
	// Opcode is OpcodeText or OpcodeBinary.
	Opcode Opcode

	buf     *[]byte
	chain   []Middleware
	next    int
	handler EventHandler
	closed  bool
	held    int64 // bytes of the memory budget, given back when the handler returns
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
