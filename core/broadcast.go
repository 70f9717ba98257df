package gws

import (
	"compress/flate"
	"sync"
	"sync/atomic"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

// Broadcaster sends one message to many connections, encoding it once: one
// frame for every connection without compression, and one compressed frame
// per compression level among those with it, shared by every connection's
// write queue. Connections that compress with their own context
// (ServerContextTakeover) get the uncompressed frame, which RFC 7692 allows
// on any connection; client-side connections, whose frames must each have
// their own mask, get a WriteAsync of their own.
//
//	b := gws.NewBroadcaster(gws.OpcodeText, payload)
//	sessions.Range(func(_ string, c *gws.Conn) bool { b.Broadcast(c); return true })
//	b.Close()
type Broadcaster struct {
	op      Opcode
	payload []byte

	mu     sync.Mutex
	frames [flate.BestCompression + 4]*[]byte // [0] plain, [level+3] compressed at level
	starts [flate.BestCompression + 4]int
	refs   atomic.Int64 // queued frames, plus one until Close
	mode   atomic.Int32 // writeInline or writeQueued, chosen at the first Broadcast
}

// The ways a Broadcaster's frames reach the sockets (see Broadcast).
const (
	writeInline = 1 + iota
	writeQueued
)

// NewBroadcaster prepares payload to be sent as a message of type op.
// payload must not change until Close.
func NewBroadcaster(op Opcode, payload []byte) *Broadcaster {
	b := &Broadcaster{op: op, payload: payload}
	b.refs.Store(1)
	return b
}

// Broadcast sends the message to c without waiting, as WriteAsync does;
// the connection's SlowConsumer policy applies. When c has nothing queued
// and its socket takes the frame at once, the caller writes it, which is
// the cheapest way to a connection; otherwise the frame waits in c's write
// queue for c's drainer goroutine. When broadcasts follow one another
// close together (an earlier Broadcaster of the same Upgrader still has
// frames on their way, or messages wait behind the one being handled),
// every frame goes to the queues instead, so that several broadcasts reach
// each connection in one writev. It returns ErrWriteQueueFull when the
// policy dropped the message, an error wrapping net.ErrClosed when the
// connection has ended, and nil once the message is written or queued; a
// write that fails later is reported by the connection's OnError.
func (b *Broadcaster) Broadcast(c *Conn) error {
	if !c.server {
		return c.queueMessage(b.op, b.payload, nil)
	}
	kind := 0
	if c.compresses(b.op, b.payload) && !c.ownContext(b.op, b.payload) {
		kind = c.deflate.level(c.cfg) + 3
	}
	b.refs.Add(1)
	return c.enqueue(outFrame{b: b.frame(kind, c.cfg.codec), bc: b, op: b.op, n: len(b.payload), queued: b.queues(c.g)})
}

// queues reports whether b leaves its frames to the connections' drainers.
// It decides once, at b's first Broadcast to group g. Coalescing pays when
// broadcasts come close together, and two signs say they do: the
// Broadcaster before it in g has frames still on their way (or has not
// been closed), or some connection of g is handling a message with more
// already waiting behind it (group.backlog), as when a sender keeps
// several broadcasts in flight. Otherwise each frame is written by the
// caller where the socket takes it.
func (b *Broadcaster) queues(g *group) bool {
	m := b.mode.Load()
	if m == 0 {
		m = writeInline
		prev := g.lastBroadcast.Swap(b)
		if g.backlog.Load() > 0 || prev != nil && prev != b && prev.refs.Load() > 0 {
			m = writeQueued
		}
		if !b.mode.CompareAndSwap(0, m) {
			m = b.mode.Load()
		}
	}
	return m == writeQueued
}

// frame returns the encoded frame of a kind, encoding it on first use, with
// k when it is compressed. Any codec's output inflates the same, so
// connections with other codecs may share the frame.
func (b *Broadcaster) frame(kind int, k *codec) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.frames[kind] == nil {
		if kind == 0 {
			h := frame.Header{Fin: true, Opcode: byte(b.op), Length: int64(len(b.payload))}
			hs := frame.Size(h.Length, false)
			buf := bufpool.Get(hs + len(b.payload))
			frame.Encode(*buf, h)
			copy((*buf)[hs:], b.payload)
			b.frames[0] = buf
		} else {
			comp := k.getCompressor(kind - 3)
			b.frames[kind], b.starts[kind] = comp.compressFrame(b.op, b.payload, false, true)
			k.putCompressor(kind-3, comp)
		}
	}
	return (*b.frames[kind])[b.starts[kind]:]
}

// Close releases the encoded frames once every queued copy is written. The
// Broadcaster must not be used afterwards.
func (b *Broadcaster) Close() error {
	b.release()
	return nil
}

func (b *Broadcaster) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	for i, f := range b.frames {
		if f != nil {
			bufpool.Put(f)
			b.frames[i] = nil
		}
	}
}
