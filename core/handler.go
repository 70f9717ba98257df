package gws

// EventHandler receives a connection's events. For each connection OnOpen is
// called once, before any other event, and OnClose once, last; in between
// the events of one connection come one at a time, in order, on the
// connection's read goroutine, or in poller mode on one of the poller's
// goroutines at a time (with ServerOptions.ParallelEnabled, OnMessage
// calls may overlap).
type EventHandler interface {
	// OnOpen is called when the connection is ready.
	OnOpen(socket *Conn)
	// OnClose is called when the connection has ended, with the close code
	// and reason the peer sent, the code gws sent when it failed the
	// connection, or CloseAbnormal (1006) when TCP ended without a close
	// frame.
	OnClose(socket *Conn, code Code, reason []byte)
	// OnMessage is called for every complete text or binary message, after
	// the middleware. Call m.Close when done with it.
	OnMessage(socket *Conn, m *Message)
	// OnError is called for a protocol violation or an I/O error, before
	// OnClose.
	OnError(socket *Conn, err error)
	// OnPing is called for every ping, after gws has answered it with a pong
	// carrying the same payload. m is valid only during the call.
	OnPing(socket *Conn, m []byte)
	// OnPong is called for every pong. m is valid only during the call.
	OnPong(socket *Conn, m []byte)
}

// NopHandler is an EventHandler that does nothing: embed it in a handler
// of your own and define only the events you need. Its OnMessage closes the
// message.
type NopHandler struct{}

func (NopHandler) OnOpen(*Conn)                  {}
func (NopHandler) OnClose(*Conn, Code, []byte)   {}
func (NopHandler) OnMessage(_ *Conn, m *Message) { m.Close() }
func (NopHandler) OnError(*Conn, error)          {}
func (NopHandler) OnPing(*Conn, []byte)          {}
func (NopHandler) OnPong(*Conn, []byte)          {}
