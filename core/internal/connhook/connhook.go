// Package connhook gives the packages of the core module that build on
// gws.Conn (rooms) what a Conn offers them but not its users. Package gws
// sets the functions when it is initialised; c is always a *gws.Conn.
package connhook

// OnEnd registers f to run when the connection c ends, before its
// OnClose, and reports true; it reports false, without registering, if c
// has ended already. It costs no goroutine.
var OnEnd func(c any, f func()) bool

// Coalesce makes the Broadcaster b (a *gws.Broadcaster, before its first
// Broadcast) queue its frame on every connection for the drainers, even
// where the caller could write it at once, because more broadcasts
// follow: queued together, they go out in one write per connection.
var Coalesce func(b any)

// CloseAsync queues a close frame with code and reason on c, behind the
// frames already queued, and returns at once; the close timeout starts
// when it is written.
var CloseAsync func(c any, code uint16, reason []byte)
