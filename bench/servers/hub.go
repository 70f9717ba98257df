package servers

import (
	"net"
	"sync"
)

// hub is the set of connections a broadcast server writes to, for the
// libraries that have no registry of their own: a map under a read-write
// lock, the plain structure their users write.
type hub[C comparable] struct {
	mu sync.RWMutex
	m  map[C]struct{}
}

func (h *hub[C]) add(c C) {
	h.mu.Lock()
	if h.m == nil {
		h.m = make(map[C]struct{})
	}
	h.m[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub[C]) remove(c C) {
	h.mu.Lock()
	delete(h.m, c)
	h.mu.Unlock()
}

// each calls f for every connection, holding the read lock so that
// connections may come and go between broadcasts but not during one.
func (h *hub[C]) each(f func(C)) {
	h.mu.RLock()
	for c := range h.m {
		f(c)
	}
	h.mu.RUnlock()
}

// lockedConn serialises the writes of servers that write frames to the
// socket themselves: a broadcast from one connection's goroutine and a
// control reply from another's must not interleave.
type lockedConn struct {
	mu sync.Mutex
	net.Conn
}

func (c *lockedConn) send(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.Write(b)
	return err
}
