package gws

import "sync"

// Storage is a concurrency-safe map from string keys to values: a Request's
// during the handshake, then, with the same values, the Conn's. CheckOrigin
// typically puts what it learned from the request (a user name, a session)
// and the event handlers read it back. The zero value is ready to use and
// holds no map until the first Put.
type Storage struct {
	mu sync.Mutex // not an RWMutex: 16 bytes less in every Conn, and reads are short
	m  map[string]any
}

// Put stores value under key, replacing any earlier value.
func (s *Storage) Put(key string, value any) {
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string]any, 4)
	}
	s.m[key] = value
	s.mu.Unlock()
}

// Get returns the value stored under key and whether there was one.
func (s *Storage) Get(key string) (any, bool) {
	s.mu.Lock()
	v, ok := s.m[key]
	s.mu.Unlock()
	return v, ok
}

// Delete removes key.
func (s *Storage) Delete(key string) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// Len returns the number of keys stored.
func (s *Storage) Len() int {
	s.mu.Lock()
	n := len(s.m)
	s.mu.Unlock()
	return n
}

// adopt moves the values of from into s, which has none yet.
func (s *Storage) adopt(from *Storage) {
	from.mu.Lock()
	s.m, from.m = from.m, nil
	from.mu.Unlock()
}

// Range calls f for each key and value until f returns false. It works on a
// snapshot, so f may call Put or Delete.
func (s *Storage) Range(f func(key string, value any) bool) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.m))
	vals := make([]any, 0, len(s.m))
	for k, v := range s.m {
		keys = append(keys, k)
		vals = append(vals, v)
	}
	s.mu.Unlock()
	for i := range keys {
		if !f(keys[i], vals[i]) {
			return
		}
	}
}
