package gws

import "sync"

// Sessions is a concurrency-safe registry of connections by key, such as a
// chat room's users by name. A connection leaves the registry by itself
// when it ends, before its OnClose is called, so nothing needs a goroutine
// to watch Context. The zero value is ready to use.
type Sessions[K comparable] struct {
	mu        sync.RWMutex
	m         map[K]*Conn
	snapshots sync.Pool // *[]entry[K], reused by Range so that a broadcast does not allocate per receiver
}

type entry[K comparable] struct {
	key K
	c   *Conn
}

// Store registers c under key and returns the connection it replaced, if
// any. A connection that has already ended is not stored.
func (s *Sessions[K]) Store(key K, c *Conn) (replaced *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.onEnd(func() { s.remove(key, c) }) {
		return nil
	}
	if s.m == nil {
		s.m = make(map[K]*Conn)
	}
	replaced = s.m[key]
	s.m[key] = c
	return replaced
}

// remove deletes key only while it still names c: a newer connection
// stored under the same key stays.
func (s *Sessions[K]) remove(key K, c *Conn) {
	s.mu.Lock()
	if s.m[key] == c {
		delete(s.m, key)
	}
	s.mu.Unlock()
}

// Load returns the connection stored under key.
func (s *Sessions[K]) Load(key K) (*Conn, bool) {
	s.mu.RLock()
	c, ok := s.m[key]
	s.mu.RUnlock()
	return c, ok
}

// Delete removes key.
func (s *Sessions[K]) Delete(key K) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// Len returns the number of connections stored.
func (s *Sessions[K]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// Range calls f for every key and connection until f returns false. It
// works on a snapshot, so f may write to the connections or change the
// registry; the snapshot's memory is reused by later calls.
func (s *Sessions[K]) Range(f func(key K, c *Conn) bool) {
	snap, _ := s.snapshots.Get().(*[]entry[K])
	if snap == nil {
		snap = new([]entry[K])
	}
	s.mu.RLock()
	for k, c := range s.m {
		*snap = append(*snap, entry[K]{k, c})
	}
	s.mu.RUnlock()
	for _, e := range *snap {
		if !f(e.key, e.c) {
			break
		}
	}
	clear(*snap)
	*snap = (*snap)[:0]
	s.snapshots.Put(snap)
}
