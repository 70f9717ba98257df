package gws

// Middleware receives every message before OnMessage, as registered with
// Upgrader.Use. It calls msg.Next(socket) to pass the message on, or
// returns without calling it to stop the message there.
type Middleware func(socket *Conn, msg *Message)

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
func Recovery(report func(exception any)) Middleware {
	return func(socket *Conn, msg *Message) {
		defer func() {
			if e := recover(); e != nil {
				report(e)
			}
		}()
		msg.Next(socket)
	}
}
