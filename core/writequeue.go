package gws

import (
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

// errSlowConsumer is why SlowClose dropped a connection.
var errSlowConsumer = fmt.Errorf("gws: peer reads too slowly: %w", ErrWriteQueueFull)

// writeQueue is a connection's queue of frames for WriteAsync, Broadcast,
// heartbeat pings and Shutdown's close frames. One goroutine at a time
// drains it, started when the queue goes from empty to not empty and gone
// when it is empty again, so an idle connection has none.
type writeQueue struct {
	mu      sync.Mutex
	items   []outFrame
	spare   []outFrame // the other half of a double buffer, so draining does not allocate
	bytes   int
	running bool
	ended   bool          // the connection has ended: fail new frames
	room    chan struct{} // made when a SlowBlock writer waits for room
	drained sync.WaitGroup
	vec     net.Buffers               // frames of the batch being written, guarded by Conn.wmu
	out     net.Buffers               // what writev consumes; a field so it does not escape per call
	hdr     [frame.MaxHeaderSize]byte // the header writeLarge sends; guarded by Conn.wmu

	// writeBuffers' state for its callback, bound once (Linux, goroutine
	// mode); guarded by Conn.wmu.
	writevFn func(fd uintptr) bool
	wv       *net.Buffers
	wn       int64
	werr     syscall.Errno
}

// queue returns the connection's write queue, made on first use: many
// connections never need one, and it is 200 bytes.
func (c *Conn) queue() *writeQueue {
	if q := c.wq.Load(); q != nil {
		return q
	}
	q := new(writeQueue)
	q.bindWritev()
	c.wq.CompareAndSwap(nil, q)
	return c.wq.Load()
}

// endedQueue is the queue of a connection that ended without one: it
// fails every frame.
var endedQueue = writeQueue{ended: true}

// endQueue fails the frames still queued, and any queued later, once the
// connection has ended, and waits for the drainer.
func (c *Conn) endQueue() {
	if c.wq.CompareAndSwap(nil, &endedQueue) {
		return
	}
	q := c.wq.Load()
	q.mu.Lock()
	q.ended = true
	if q.room != nil {
		// Wake SlowBlock writers waiting for room: there will be none.
		close(q.room)
		q.room = nil
	}
	queued := q.items
	q.items = nil
	q.mu.Unlock()
	for i := range queued {
		queued[i].release(errClosed)
	}
	q.drained.Wait()
}

// outFrame is one encoded frame waiting in a write queue.
type outFrame struct {
	b        []byte
	buf      *[]byte      // pooled buffer behind b, given back once written
	bc       *Broadcaster // shared frame, released once written
	op       Opcode       // the message's type, for Stats and for a frame compressed at write time; 0 for frames gws adds
	n        int          // the payload's size, for Stats
	ctx      *[]byte      // the payload, when it must be compressed with the connection's history
	isClose  bool
	queued   bool // leave the write to a drainer even on an empty queue, so that frames coalesce (Broadcast)
	callback func(error)
	held     int64   // bytes taken from budget while queued
	budget   *budget // set with held
}

func (f *outFrame) size() int {
	if f.ctx != nil {
		return len(*f.ctx)
	}
	return len(f.b)
}

// release gives back what f holds and tells its callback how it went.
func (f *outFrame) release(err error) {
	switch {
	case f.buf != nil:
		bufpool.Put(f.buf)
	case f.ctx != nil:
		bufpool.Put(f.ctx)
	case f.bc != nil:
		f.bc.release()
	}
	if f.held > 0 {
		f.budget.release(f.held)
	}
	if f.callback != nil {
		f.callback(err)
	}
}

// WriteAsync queues a message for writing and returns at once; callback
// (which may be nil) is called from another goroutine with the outcome.
// Messages queued by one connection's WriteAsync go out in the order
// queued. The payload is copied, so the caller may reuse it. When the
// queue is full (ServerOptions.WriteQueueMessages, WriteQueueBytes) the
// SlowConsumer policy decides what happens; a connection that has ended
// fails the message with an error wrapping net.ErrClosed.
func (c *Conn) WriteAsync(op Opcode, payload []byte, callback func(error)) {
	c.queueMessage(op, payload, callback)
}

// queueMessage is WriteAsync, returning enqueue's verdict.
func (c *Conn) queueMessage(op Opcode, payload []byte, callback func(error)) error {
	if c.ownContext(op, payload) {
		// Compressing with the connection's history must happen at write
		// time, in wire order: queue a copy of the payload.
		buf := bufpool.Get(len(payload))
		copy(*buf, payload)
		return c.enqueue(outFrame{op: op, n: len(payload), ctx: buf, callback: callback})
	}
	buf, start := c.encode(op, payload)
	return c.enqueue(outFrame{b: (*buf)[start:], buf: buf, op: op, n: len(payload), isClose: op == OpcodeClose, callback: callback})
}

// enqueue adds f to the queue, applying the slow-consumer policy when the
// queue is full. It returns what f's callback is told when f never goes
// out: ErrWriteQueueFull or errClosed, and nil once f is queued.
func (c *Conn) enqueue(f outFrame) error {
	q := c.queue()
	q.mu.Lock()
	var timer *time.Timer
	for !q.ended && (q.full(f.size(), c.cfg) || !c.holdQueued(&f, len(q.items) == 0)) {
		switch c.cfg.slowConsumer {
		case SlowClose:
			q.mu.Unlock()
			c.tryClose(ClosePolicyViolation, "slow consumer")
			if c.fail(&CloseError{Code: ClosePolicyViolation, Reason: "slow consumer", Err: errSlowConsumer}) {
				c.g.slowShut.Add(1)
			}
			f.release(ErrWriteQueueFull)
			return ErrWriteQueueFull
		case SlowBlock:
			if timer == nil {
				timer = time.NewTimer(c.cfg.slowBlock)
				defer timer.Stop()
			}
			if q.room == nil {
				q.room = make(chan struct{})
			}
			room := q.room
			q.mu.Unlock()
			select {
			case <-room:
				q.mu.Lock()
				continue
			case <-timer.C:
			}
		default:
			q.mu.Unlock()
		}
		if f.op == OpcodeText || f.op == OpcodeBinary {
			c.g.dropped.Add(1) // not a heartbeat's ping: Stats count messages
		}
		f.release(ErrWriteQueueFull)
		return ErrWriteQueueFull
	}
	return c.push(f)
}

// full reports whether a frame of n bytes does not fit; a queue that is
// empty takes any one frame, however large.
func (q *writeQueue) full(n int, cfg *config) bool {
	return len(q.items) >= cfg.queueMessages || (len(q.items) > 0 && q.bytes+n > cfg.queueBytes)
}

// push appends f and starts a drainer if none runs; it is called with
// the queue's mu held and unlocks it. It fails only when the connection
// has ended.
func (c *Conn) push(f outFrame) error {
	q := c.wq.Load()
	if q.ended {
		q.mu.Unlock()
		f.release(errClosed)
		return errClosed
	}
	if len(q.items) == 0 && !q.running && c.raw != nil && f.ctx == nil && !f.queued && c.wmu.TryLock() {
		q.running = true
		q.drained.Add(1)
		q.mu.Unlock()
		c.writeNow(f)
		return nil
	}
	if q.items == nil {
		q.items, q.spare = q.spare, nil
	}
	q.items = append(q.items, f)
	q.bytes += f.size()
	start := !q.running
	if start {
		q.running = true
		q.drained.Add(1)
	}
	q.mu.Unlock()
	if start {
		c.startDrainer()
	}
	return nil
}

// startDrainer starts a goroutine to drain the queue; the caller holds the
// drainer's role, which also guards drainFn. The method value is bound the
// first time, so a connection that never needs a drainer does not pay for
// it, and later drainers do not allocate.
func (c *Conn) startDrainer() {
	if c.drainFn == nil {
		c.drainFn = c.drain
	}
	go c.drainFn()
}

// writeNow writes f from the calling goroutine if the socket takes it
// without waiting, which is the common case, so that queueing a frame
// costs no goroutine. The caller holds c.wmu and the drainer's role; if
// the socket takes only part of f, a drainer goroutine inherits both and
// writes the rest first, so nothing can come between the two parts.
func (c *Conn) writeNow(f outFrame) {
	var err error
	if c.closeSent {
		err = errClosed
	} else {
		if c.wdeadline.Load() != 0 {
			// A deadline from an earlier congestion is on the socket, and
			// RawConn.Write fails at once if it has passed: keep it ahead.
			c.setWriteDeadline()
		}
		c.wtry, c.wtryErr, c.wnowait = f.b, 0, true
		r := c.reads.Load()
		var werr error
		if c.pc != nil {
			werr = c.pc.writeLoop(c.rawWrite)
		} else {
			werr = c.raw.Write(c.writeFn)
		}
		if c.wtryErr != 0 {
			werr = os.NewSyscallError("write", c.wtryErr)
		}
		rest := c.wtry
		c.wtry, c.wnowait = nil, false
		switch {
		case werr != nil:
			err = c.writeFailed(werr)
		case len(rest) > 0:
			f.b = rest
			go c.finishThenDrain(f)
			return
		default:
			c.wroteAt.Store(r)
			c.closeSent = f.isClose
			c.countOut(f.op, f.n)
		}
	}
	c.wmu.Unlock()
	f.release(err)
	c.drainRest()
}

// finishThenDrain writes the rest of a frame writeNow began, with c.wmu
// still held from there, then drains the queue.
func (c *Conn) finishThenDrain(f outFrame) {
	c.setWriteDeadline()
	var err error
	if _, werr := c.nc.Write(f.b); werr != nil {
		err = c.writeFailed(werr)
	} else {
		c.closeSent = f.isClose
		c.countOut(f.op, f.n)
	}
	c.wmu.Unlock()
	f.release(err)
	c.drain()
}

// drainRest hands the drainer's role on: to a goroutine if frames were
// queued meanwhile, or back to the queue if not.
func (c *Conn) drainRest() {
	q := c.wq.Load()
	q.mu.Lock()
	if len(q.items) == 0 {
		q.running = false
		q.mu.Unlock()
		q.drained.Done()
		return
	}
	q.mu.Unlock()
	c.startDrainer()
}

// drain writes queued frames until the queue is empty, a batch at a time
// with one writev system call per batch.
func (c *Conn) drain() {
	q := c.wq.Load()
	defer q.drained.Done()
	for {
		q.mu.Lock()
		batch := q.items
		if len(batch) == 0 {
			q.running = false
			if cap(batch) > 64 {
				// A burst is over: do not hold its queue while idle.
				q.items, q.spare = nil, nil
			}
			q.mu.Unlock()
			return
		}
		q.items, q.spare = q.spare[:0], nil
		q.bytes = 0
		if q.room != nil {
			close(q.room)
			q.room = nil
		}
		q.mu.Unlock()

		c.writeBatch(batch)
		clear(batch)
		q.mu.Lock()
		q.spare = batch[:0]
		q.mu.Unlock()
	}
}

// writeBatch writes frames in order and reports to each frame's callback,
// outside the write lock.
func (c *Conn) writeBatch(batch []outFrame) {
	for i := 0; i < len(batch); {
		var err error
		n := 1
		c.wmu.Lock()
		switch {
		case c.closeSent:
			err, n = errClosed, len(batch)-i
		case batch[i].ctx != nil:
			err = c.writeWithContext(batch[i].op, *batch[i].ctx)
		default:
			n, err = c.writeVec(batch[i:])
		}
		c.wmu.Unlock()
		for k := i; k < i+n; k++ {
			batch[k].release(err)
		}
		i += n
	}
}

// writeVec writes the leading run of encoded frames of batch, up to and
// including a close frame, with one writev system call, and returns how
// many it wrote; c.wmu is held.
func (c *Conn) writeVec(batch []outFrame) (int, error) {
	q := c.wq.Load()
	q.vec = q.vec[:0]
	n := 0
	for n < len(batch) && batch[n].ctx == nil {
		q.vec = append(q.vec, batch[n].b)
		n++
		if batch[n-1].isClose {
			break
		}
	}
	c.setWriteDeadline()
	q.out = q.vec
	_, err := c.writeBuffers(&q.out)
	clear(q.vec)
	if err != nil {
		return n, c.writeFailed(err)
	}
	if batch[n-1].isClose {
		c.closeSent = true
	}
	for i := range n {
		c.countOut(batch[i].op, batch[i].n)
	}
	return n, nil
}
