package gws

import "github.com/gwsgo/gws/core/internal/connhook"

// Package rooms builds on Conn through these two hooks, which users have
// no use for: a connection leaves its rooms when it ends, and one replaced
// by a newer connection of its user is closed without waiting.
func init() {
	connhook.OnEnd = func(c any, f func()) bool { return c.(*Conn).onEnd(f) }
	connhook.CloseAsync = func(c any, code uint16, reason []byte) { c.(*Conn).closeAsync(Code(code), reason) }
}
