package gws

import "github.com/gwsgo/gws/core/internal/connhook"

// Package rooms builds on Conn and Broadcaster through these hooks, which
// users have no use for: a connection leaves its rooms when it ends, a
// connection replaced by a newer one of its user is closed without
// waiting, and messages that arrive from the broker together coalesce.
func init() {
	connhook.OnEnd = func(c any, f func()) bool { return c.(*Conn).onEnd(f) }
	connhook.Coalesce = func(b any) { b.(*Broadcaster).mode.CompareAndSwap(0, writeQueued) }
	connhook.CloseAsync = func(c any, code uint16, reason []byte) { c.(*Conn).closeAsync(Code(code), reason) }
}
