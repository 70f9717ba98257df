package gws

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsgo/gws/core/internal/bufpool"
)

// budget is ServerOptions.MemoryBudget: the bytes an Upgrader's connections
// hold in messages being received (from a message's first frame until its
// handler returns), in the output of inflating them, and in frames waiting
// in write queues, counted as the capacities of the pooled buffers that
// hold them, before those buffers are taken.
//
// A read that would take the total past the limit waits: the connection
// stops reading, so TCP slows its peer down, and it goes on once others
// have given bytes back. Waiters are served oldest message first, so that
// messages that started first finish. When the oldest cannot grow, the
// youngest waiter holding part of a message gives way: it is closed with
// 1013 and drops its message at once, as many times as it takes. Without
// that, messages that began together and outgrow the budget together
// would all wait, each holding what the others need, until the timeout.
// A connection that waits longer than MemoryBudgetTimeout is closed with
// 1013 too, and so is one whose message cannot fit with nothing else held.
//
// The last sixteenth of the budget is kept for connections whose message
// so far fits in smallHold, so that small messages (a new client's first,
// a chat line) go through while large ones wait for room. A write queue
// that would go past the budget counts as full for WriteAsync (its
// SlowConsumer policy decides); an empty queue takes any one frame.
type budget struct {
	limit   int64
	reserve int64 // what only small holds may use
	timeout time.Duration

	used  atomic.Int64
	nwait atomic.Int32 // len(waiters), read without mu by release

	mu      sync.Mutex
	parked  int64         // bytes held by the connections in waiters
	dying   int64         // bytes held by connections told to give way, until they drop them
	waiters []*budgetWait // oldest message first
	seq     int64         // message ages, for waiters' order
	timer   *time.Timer   // fires at the earliest waiter's deadline
}

// smallHold is the most a connection may hold and still count as small
// (see budget): a message that fits in one 64 KiB frame.
const smallHold = 64 << 10

// budgetWait is a connection waiting for room in the budget.
type budgetWait struct {
	c        *Conn
	need     int64
	held     int64 // what c held when it began to wait
	seq      int64
	deadline time.Time
	state    int           // waitPending, waitGranted, waitDenied or waitCancelled; guarded by budget.mu
	ch       chan struct{} // closed when decided, for a waiter that blocks; nil for one the poller reschedules
}

// The states of a budgetWait.
const (
	waitPending = iota
	waitGranted
	waitDenied    // closed with 1013
	waitCancelled // the connection ended while waiting
)

// errBudgetWait tells the read loop that the connection waits for room in
// the budget; in poller mode it is parked until it is rescheduled.
var errBudgetWait = errors.New("gws: waiting for the memory budget")

// errBudget is the cause of a close with 1013.
var errBudget = errors.New("gws: memory budget exhausted")

func newBudget(limit int64, timeout time.Duration) *budget {
	if limit <= 0 {
		return nil
	}
	return &budget{limit: limit, reserve: limit / 16, timeout: timeout}
}

// take takes n bytes if they fit and no older message waits for room.
func (b *budget) take(n int64, small bool) bool {
	lim := b.limit
	if !small {
		lim -= b.reserve
		if b.nwait.Load() > 0 {
			return false
		}
	}
	for {
		u := b.used.Load()
		if u+n > lim {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// force takes n bytes whether they fit or not.
func (b *budget) force(n int64) { b.used.Add(n) }

// release gives back n bytes and lets waiters that now fit go on.
func (b *budget) release(n int64) {
	if n <= 0 {
		return
	}
	b.used.Add(-n)
	if b.nwait.Load() > 0 {
		b.mu.Lock()
		b.serve()
		b.mu.Unlock()
	}
}

// wait queues c for n bytes, holding held already; the caller then waits
// for w's decision (w.ch, or a reschedule in poller mode).
func (b *budget) wait(c *Conn, n, held, seq int64, blocks bool) *budgetWait {
	w := &budgetWait{c: c, need: n, held: held, seq: seq, deadline: time.Now().Add(b.timeout)}
	if blocks {
		w.ch = make(chan struct{})
	}
	b.mu.Lock()
	i, _ := slices.BinarySearchFunc(b.waiters, seq, func(x *budgetWait, s int64) int { return int(x.seq - s) })
	b.waiters = slices.Insert(b.waiters, i, w)
	b.nwait.Store(int32(len(b.waiters)))
	b.parked += held
	if b.timer == nil {
		b.timer = time.AfterFunc(b.timeout, b.expire)
	} else if len(b.waiters) == 1 {
		b.timer.Reset(b.timeout)
	}
	// A release may have come between the failed take and now.
	b.serve()
	b.mu.Unlock()
	return w
}

// nextSeq returns the age of a message that begins now.
func (b *budget) nextSeq() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	return b.seq
}

// serve grants waiters, oldest message first, while the first fits. When
// it does not, younger messages waiting for more give way to it: the
// youngest is closed with 1013, and what it holds counts as given back,
// until the oldest fits or no younger one holds anything. A message that
// still cannot fit while nothing but waiting connections hold the budget
// is larger than the whole budget, and is closed too. b.mu is held.
func (b *budget) serve() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		lim := b.limitFor(w)
		u := b.used.Load()
		if u+w.need <= lim {
			if b.used.CompareAndSwap(u, u+w.need) {
				b.decide(0, waitGranted)
			}
			continue
		}
		if u-b.dying+w.need <= lim {
			// Enough is on its way back.
			return
		}
		if v := b.youngestHolder(); v > 0 {
			b.deny(v)
			continue
		}
		if u-b.dying <= b.parked {
			// Every byte held is the oldest's own.
			b.deny(0)
			continue
		}
		// Connections that are not waiting hold the rest: they give it
		// back as they finish, or wait in turn and give way.
		return
	}
}

// limitFor returns what w may take the budget up to.
func (b *budget) limitFor(w *budgetWait) int64 {
	if w.held+w.need > smallHold {
		return b.limit - b.reserve
	}
	return b.limit
}

// youngestHolder returns the index of the youngest waiter that holds
// bytes, other than the first, or 0 when there is none; b.mu is held.
func (b *budget) youngestHolder() int {
	for i := len(b.waiters) - 1; i > 0; i-- {
		if b.waiters[i].held > 0 {
			return i
		}
	}
	return 0
}

// deny closes waiter i with 1013. What it holds is on its way back: the
// waiter drops its message as soon as it hears (waited). b.mu is held.
func (b *budget) deny(i int) {
	b.dying += b.waiters[i].held
	b.decide(i, waitDenied)
}

// dropped gives back what a denied waiter held.
func (b *budget) dropped(n int64) {
	b.mu.Lock()
	b.dying -= n
	b.used.Add(-n)
	b.serve()
	b.mu.Unlock()
}

// decide removes waiter i with state s and wakes it; b.mu is held.
func (b *budget) decide(i int, s int) {
	w := b.waiters[i]
	b.waiters = slices.Delete(b.waiters, i, i+1)
	b.nwait.Store(int32(len(b.waiters)))
	b.parked -= w.held
	w.state = s
	if len(b.waiters) == 0 && b.timer != nil {
		b.timer.Stop()
	}
	if w.ch != nil {
		close(w.ch)
	} else {
		w.c.pollWake()
	}
}

// expire closes the connections that have waited past the timeout, and
// sets the timer for the next one.
func (b *budget) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	next := time.Duration(-1)
	for i := 0; i < len(b.waiters); {
		w := b.waiters[i]
		if d := w.deadline.Sub(now); d > 0 {
			if next < 0 || d < next {
				next = d
			}
			i++
			continue
		}
		b.deny(i)
	}
	if next >= 0 {
		b.timer.Reset(next)
	}
	b.serve()
}

// cancel takes w out of the queue, if it is still there, because its
// connection ends.
func (b *budget) cancel(w *budgetWait) {
	b.mu.Lock()
	if i := slices.Index(b.waiters, w); i >= 0 {
		b.decide(i, waitCancelled)
		b.serve()
	}
	b.mu.Unlock()
}

// outcome returns w's state.
func (b *budget) outcome(w *budgetWait) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return w.state
}

// reserveRead takes n more bytes for the message being received. When
// they do not fit, the connection waits: in goroutine mode, and wherever
// block is set, reserveRead waits itself; in poller mode it returns
// errBudgetWait, and the poller serves the connection again once the
// budget has decided, when the same call gets the decision. A denied
// connection gets the *CloseError that closes it with 1013.
func (c *Conn) reserveRead(n int64, block bool) error {
	b := c.g.budget
	if b == nil || n <= 0 {
		return nil
	}
	if w := c.bwait.Load(); w != nil {
		return c.waited(b, w)
	}
	r := c.r
	if r.seq == 0 {
		r.seq = b.nextSeq()
	}
	if b.take(n, r.held+n <= smallHold) {
		r.held += n
		return nil
	}
	block = block || c.pc == nil
	w := b.wait(c, n, r.held, r.seq, block)
	c.bwait.Store(w)
	if c.closing.Load() {
		// Closed before the wait could be seen by closeNet.
		b.cancel(w)
	}
	if !block {
		if b.outcome(w) == waitPending {
			return errBudgetWait
		}
		return c.waited(b, w)
	}
	<-w.ch
	return c.waited(b, w)
}

// waited acts on the decision about w, or returns errBudgetWait while
// there is none.
func (c *Conn) waited(b *budget, w *budgetWait) error {
	switch b.outcome(w) {
	case waitPending:
		return errBudgetWait
	case waitGranted:
		c.bwait.Store(nil)
		c.r.held += w.need
		return nil
	case waitDenied:
		// Drop the message now, not once the close handshake is over, and
		// to the garbage collector rather than the pool, where it would
		// stay: others wait for its room.
		c.bwait.Store(nil)
		c.r.held -= w.held
		c.r.msg = nil
		b.dropped(w.held)
		return &CloseError{Code: CloseTryAgainLater, Reason: "memory budget exhausted", Err: errBudget}
	}
	c.bwait.Store(nil)
	return errClosed
}

// holdMore takes n more bytes for the message being received, waiting
// for them if need be, as inflating does: it cannot stop half-way.
// Without a budget, or a connection (c is nil in some tests), it does
// nothing.
func (c *Conn) holdMore(n int64) error {
	if c == nil {
		return nil
	}
	return c.reserveRead(n, true)
}

// grow is bufpool.Grow for the message being received, which under a
// budget leaves the buffer it grows out of to the garbage collector: pooled,
// it would be memory the budget does not count (c may be nil in tests).
func (c *Conn) grow(b *[]byte, n, most int) *[]byte {
	if c != nil && c.g.budget != nil {
		return bufpool.GrowAndDrop(b, n, most)
	}
	return bufpool.Grow(b, n, most)
}

// releaseHeld gives back n of the bytes the read side holds.
func (c *Conn) releaseHeld(n int64) {
	if b := c.g.budget; b != nil {
		c.r.held -= n
		b.release(n)
	}
}

// cancelBudgetWait takes the connection out of the budget's queue, when it
// is waiting there, because it is being closed.
func (c *Conn) cancelBudgetWait() {
	if w := c.bwait.Load(); w != nil {
		c.g.budget.cancel(w)
	}
}

// releaseRead gives back what the read side holds, when the connection
// ends.
func (c *Conn) releaseRead() {
	if b := c.g.budget; b != nil {
		c.cancelBudgetWait()
		if r := c.r; r != nil {
			b.release(r.held)
			r.held, r.seq = 0, 0
		}
	}
}

// holdQueued takes the budget for a frame about to be queued, and reports
// false when it does not fit; an empty queue takes any frame. Shared
// broadcast frames are not counted: one buffer serves every connection.
func (c *Conn) holdQueued(f *outFrame, empty bool) bool {
	b := c.g.budget
	if b == nil || f.bc != nil || f.held > 0 {
		return true
	}
	n := int64(f.size())
	if !b.take(n, false) {
		if !empty {
			return false
		}
		b.force(n)
	}
	f.held, f.budget = n, b
	return true
}
