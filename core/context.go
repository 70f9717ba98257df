package gws

import (
	"context"
	"slices"
	"sync"
	"time"
)

// connContext is what Conn.Context holds: the values of the context the
// connection came from (the handshake request's, or Dial's), and done once
// the connection has ended. It lives inside the Conn, so a connection's
// context costs no allocation of its own, and it has an AfterFunc method,
// with which the context package derives contexts from it (WithCancel,
// AfterFunc) without a goroutine each.
type connContext struct {
	values context.Context // never done: only its values are used

	mu     sync.Mutex
	done   chan struct{} // made by the first Done
	ended  bool
	afters []*func() // AfterFunc's functions still to run
}

// init sets where the values come from, without parent's cancellation:
// net/http cancels a request's context as soon as its handler returns.
func (x *connContext) init(parent context.Context) {
	if parent.Done() != nil {
		parent = context.WithoutCancel(parent)
	}
	x.values = parent
}

func (x *connContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (x *connContext) Done() <-chan struct{} {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done == nil {
		x.done = make(chan struct{})
		if x.ended {
			close(x.done)
		}
	}
	return x.done
}

func (x *connContext) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ended {
		return context.Canceled
	}
	return nil
}

func (x *connContext) Value(key any) any { return x.values.Value(key) }

// AfterFunc runs f in a goroutine of its own once the connection has
// ended, as context.AfterFunc does; stop unregisters it.
func (x *connContext) AfterFunc(f func()) (stop func() bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ended {
		go f()
		return func() bool { return false }
	}
	p := &f
	x.afters = append(x.afters, p)
	return func() bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		i := slices.Index(x.afters, p)
		if i < 0 {
			return false
		}
		x.afters = slices.Delete(x.afters, i, i+1)
		return true
	}
}

func (x *connContext) String() string { return "gws.Conn.Context" }

// end makes the context done.
func (x *connContext) end() {
	x.mu.Lock()
	x.ended = true
	if x.done != nil {
		close(x.done)
	}
	afters := x.afters
	x.afters = nil
	x.mu.Unlock()
	for _, f := range afters {
		go (*f)()
	}
}
