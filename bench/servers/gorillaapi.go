package servers

import (
	"sync"

	"github.com/gwsgo/gws/bench/internal/wire"
)

// messageConn is the message API that gorilla/websocket's Conn and its fork
// fasthttp/websocket's share, so that the two (and Fiber, which runs the
// fork) are measured running the very same loops.
type messageConn interface {
	ReadMessage() (int, []byte, error)
	WriteMessage(op int, p []byte) error
}

// preparedConn adds the forks' PreparedMessage, P being each one's pointer
// to it.
type preparedConn[P any] interface {
	messageConn
	WritePreparedMessage(P) error
}

// binaryMessage is the RFC 6455 opcode, which both libraries use as their
// message type.
const binaryMessage = 2

// echoMessages is the echo that gorilla documents, ReadMessage and
// WriteMessage; the server-side WriteMessage writes one frame without
// copying twice.
func echoMessages(c messageConn) {
	for {
		op, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(op, p); err != nil {
			return
		}
	}
}

// writeLocked adds the lock gorilla asks for: one writer at a time.
type writeLocked[C any] struct {
	mu sync.Mutex
	c  C
}

// broadcastPrepared is gorilla's chat example with a PreparedMessage, which
// frames (and would compress) the message once for every connection.
func broadcastPrepared[C preparedConn[P], P any](conns *hub[*writeLocked[C]], c C, prepare func(op int, p []byte) (P, error)) {
	wc := &writeLocked[C]{c: c}
	conns.add(wc)
	defer conns.remove(wc)
	wc.mu.Lock()
	err := c.WriteMessage(binaryMessage, []byte(wire.Welcome))
	wc.mu.Unlock()
	for err == nil {
		var op int
		var p []byte
		if op, p, err = c.ReadMessage(); err != nil {
			return
		}
		var pm P
		if pm, err = prepare(op, p); err != nil {
			return
		}
		conns.each(func(to *writeLocked[C]) {
			to.mu.Lock()
			_ = to.c.WritePreparedMessage(pm)
			to.mu.Unlock()
		})
	}
}
