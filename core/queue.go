package gws

import "sync"

// parallelQueue hands one connection's messages to up to ParallelLimit
// goroutines. Workers are started on demand and exit when the queue is
// empty, so an idle connection has none; the reader blocks while the queue
// is full, which stops it reading and lets TCP slow the peer down.
type parallelQueue struct {
	mu      sync.Mutex
	notFull sync.Cond
	idle    sync.Cond // signalled when the last worker exits
	items   []*Message
	head    int
	size    int
	limit   int
	workers int
}

func newParallelQueue(cfg *config) *parallelQueue {
	q := &parallelQueue{items: make([]*Message, cfg.parallelQueue), limit: cfg.parallelLimit}
	q.notFull.L = &q.mu
	q.idle.L = &q.mu
	return q
}

// push queues m, waiting while the queue is full, and starts a worker when
// there is more queued than workers to take it. With an Upgrader-wide
// Concurrency cap the worker first needs a slot; the reader waits for one
// only when the connection has no worker at all, since a running worker
// will get to the message anyway.
func (q *parallelQueue) push(c *Conn, m *Message) {
	q.mu.Lock()
	for q.size == len(q.items) {
		q.notFull.Wait()
	}
	q.items[(q.head+q.size)%len(q.items)] = m
	q.size++
	start := q.workers < q.limit && q.workers < q.size
	first := q.workers == 0
	if start {
		q.workers++
	}
	q.mu.Unlock()
	if !start {
		return
	}
	if slots := c.g.slots; slots != nil {
		if first {
			slots <- struct{}{}
		} else {
			select {
			case slots <- struct{}{}:
			default:
				q.mu.Lock()
				q.workers--
				q.mu.Unlock()
				return
			}
		}
	}
	go q.work(c)
}

func (q *parallelQueue) work(c *Conn) {
	for {
		q.mu.Lock()
		if q.size == 0 {
			q.workers--
			if q.workers == 0 {
				q.idle.Broadcast()
			}
			q.mu.Unlock()
			if slots := c.g.slots; slots != nil {
				<-slots
			}
			return
		}
		m := q.items[q.head]
		q.items[q.head] = nil
		q.head = (q.head + 1) % len(q.items)
		q.size--
		q.notFull.Signal()
		q.mu.Unlock()
		c.deliver(m)
	}
}

// drain waits until every queued message has been handled, so that OnClose
// comes after the last OnMessage.
func (q *parallelQueue) drain() {
	q.mu.Lock()
	for q.workers > 0 || q.size > 0 {
		q.idle.Wait()
	}
	q.mu.Unlock()
}
