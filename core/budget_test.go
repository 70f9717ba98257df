package gws

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

// The budget's tests use a 6 MiB budget: a connection whose message would
// hold more than 5.625 MiB in all (the last sixteenth is kept for small
// messages) waits. Sizes are powers of two, which is what the pool's
// buffers hold, so that what each step takes is exact.
const testBudget = 6 << 20

// budgetUpgrader serves digest replies under a budget.
func budgetUpgrader(timeout time.Duration) *Upgrader {
	return &Upgrader{ServerOptions: &ServerOptions{
		ReadMaxPayloadSize:  64 << 20,
		MemoryBudget:        testBudget,
		MemoryBudgetTimeout: timeout,
	}}
}

// fragment sends one frame of a fragmented binary message.
func (c *client) fragment(first bool, fin bool, p []byte) {
	c.t.Helper()
	op := byte(frame.OpContinuation)
	if first {
		op = frame.OpBinary
	}
	if fin {
		op |= 0x80
	}
	c.send(op, p)
}

// sendBehind sends a frame from a goroutine of its own, for a message the
// server does not read all of while it waits for the budget, which the
// socket buffers cannot take whole; the write's error goes to the channel.
func (c *client) sendBehind(first byte, payload []byte) <-chan error {
	b := encode(first, payload)
	done := make(chan error, 1)
	go func() {
		_, err := c.nc.Write(b)
		done <- err
	}()
	return done
}

// expectNothing checks that the server sends nothing for d.
func (c *client) expectNothing(d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	if _, err := c.br.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("the server answered (%v) while the message should be held back", err)
	}
}

// budgetSettles checks, once every connection has ended, that every byte
// taken from u's budget was given back.
func budgetSettles(t *testing.T, u *Upgrader) {
	t.Cleanup(func() {
		b := u.conns.budget
		if used, waiting := b.used.Load(), b.nwait.Load(); used != 0 || waiting != 0 {
			t.Errorf("%d bytes of the budget still held and %d waiting once every connection has ended", used, waiting)
		}
	})
}

// waitForWaiters waits until n connections wait for room in u's budget.
func waitForWaiters(t *testing.T, u *Upgrader, n int64) {
	t.Helper()
	waitUntil(t, "connections waiting for the budget", func() int64 { return int64(u.conns.budget.nwait.Load()) }, n)
}

// waitForHeld waits until the budget holds n bytes.
func waitForHeld(t *testing.T, u *Upgrader, n int64) {
	t.Helper()
	waitUntil(t, "bytes held of the budget", u.conns.budget.used.Load, n)
}

// waitUntil waits up to 5 s for what get counts to be n.
func waitUntil(t *testing.T, what string, get func() int64, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); get() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s, want %d", get(), what, n)
		}
	}
}

// A message that does not fit waits, unread, while another holds the
// budget, and is echoed once that one is done.
func TestMemoryBudgetBackPressure(t *testing.T) {
	u := budgetUpgrader(0)
	budgetSettles(t, u)
	addr := serve(t, u, digest{})
	a, b := connect(t, addr), connect(t, addr)

	a.fragment(true, false, bytes.Repeat([]byte("a"), 2<<20)) // holds 2 MiB
	waitForHeld(t, u, 2<<20)
	msg := bytes.Repeat([]byte("b"), 4<<20) // 4 MiB more would pass 5.625
	sent := b.sendBehind(0x80|frame.OpBinary, msg)
	waitForWaiters(t, u, 1)
	b.expectNothing(100 * time.Millisecond)

	tail := []byte("the end")
	a.fragment(false, true, tail)
	a.expect(frame.OpText, []byte(digestOf(append(bytes.Repeat([]byte("a"), 2<<20), tail...))))
	b.expect(frame.OpText, []byte(digestOf(msg)))
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if n := u.Stats().ClosedBy["memory_budget"]; n != 0 {
		t.Fatalf("%d connections closed for the budget", n)
	}
}

// When every byte is held by connections that wait for more, none can go
// on: the one whose message began last is closed with 1013 at once, and
// the other finishes.
func TestMemoryBudgetDeadlock(t *testing.T) {
	u := budgetUpgrader(0)
	budgetSettles(t, u)
	addr := serve(t, u, digest{})
	a, b := connect(t, addr), connect(t, addr)
	mib := bytes.Repeat([]byte("x"), 1<<20)

	a.fragment(true, false, bytes.Repeat(mib, 2))
	waitForHeld(t, u, 2<<20)
	b.fragment(true, false, bytes.Repeat(mib, 2))
	waitForHeld(t, u, 4<<20)
	b.sendBehind(frame.OpContinuation, mib) // 2 MiB more: waits
	waitForWaiters(t, u, 1)
	start := time.Now()
	a.sendBehind(frame.OpContinuation, mib) // waits too: B gives way
	b.expectClose(CloseTryAgainLater)
	a.fragment(false, true, []byte("!"))
	a.expect(frame.OpText, []byte(digestOf(append(bytes.Repeat(mib, 3), '!'))))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the deadlock took %v to break: it waited for the timeout", d)
	}
	// B's end is counted once OnClose has run, after its close frame.
	for deadline := time.Now().Add(5 * time.Second); u.Stats().ClosedBy["memory_budget"] != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections closed for the budget, want 1", u.Stats().ClosedBy["memory_budget"])
		}
	}
}

// A connection that waits past MemoryBudgetTimeout is closed with 1013;
// the one holding the budget is not.
func TestMemoryBudgetTimeout(t *testing.T) {
	u := budgetUpgrader(200 * time.Millisecond)
	budgetSettles(t, u)
	h := &budgetRecorder{digest: digest{}, errs: make(chan error, 2)}
	addr := serve(t, u, h)
	a, b := connect(t, addr), connect(t, addr)

	a.fragment(true, false, bytes.Repeat([]byte("a"), 2<<20)) // and stalls
	waitForHeld(t, u, 2<<20)
	b.sendBehind(0x80|frame.OpBinary, bytes.Repeat([]byte("b"), 4<<20))
	b.expectClose(CloseTryAgainLater)
	if err := <-h.errs; !errors.Is(err, errBudget) {
		t.Fatalf("OnError got %v, want the budget's", err)
	}
	a.fragment(false, true, nil)
	a.expect(frame.OpText, []byte(digestOf(bytes.Repeat([]byte("a"), 2<<20))))
}

type budgetRecorder struct {
	digest
	errs chan error
}

func (r *budgetRecorder) OnError(_ *Conn, err error) { r.errs <- err }

// A message larger than the whole budget can never be received: 1013 at
// once, not after the timeout.
func TestMemoryBudgetMessageLargerThanBudget(t *testing.T) {
	u := budgetUpgrader(time.Minute)
	budgetSettles(t, u)
	addr := serve(t, u, digest{})
	c := connect(t, addr)
	c.sendBehind(0x80|frame.OpBinary, make([]byte, testBudget+1))
	c.expectClose(CloseTryAgainLater)
}

// Small messages go through while large ones wait: the last sixteenth of
// the budget is theirs.
func TestMemoryBudgetSmallMessagesPass(t *testing.T) {
	u := budgetUpgrader(0)
	budgetSettles(t, u)
	addr := serve(t, u, digest{})
	a, b, small := connect(t, addr), connect(t, addr), connect(t, addr)
	a.fragment(true, false, bytes.Repeat([]byte("a"), 2<<20))
	waitForHeld(t, u, 2<<20)
	msg := bytes.Repeat([]byte("b"), 4<<20)
	b.sendBehind(0x80|frame.OpBinary, msg)
	waitForWaiters(t, u, 1)
	for range 3 {
		small.send(0x80|frame.OpText, []byte("still here"))
		small.expect(frame.OpText, []byte(digestOf([]byte("still here"))))
	}
	a.fragment(false, true, nil)
	a.expect(frame.OpText, []byte(digestOf(bytes.Repeat([]byte("a"), 2<<20))))
	b.expect(frame.OpText, []byte(digestOf(msg)))
}

// Inflating a message takes from the budget as the output grows: a small
// compressed message that inflates past the whole budget is closed with
// 1013, and one that fits is echoed.
func TestMemoryBudgetInflate(t *testing.T) {
	u := &Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true, ReadMaxPayloadSize: 64 << 20, MemoryBudget: 1 << 20}}
	budgetSettles(t, u)
	addr := serve(t, u, digest{})
	c := connect(t, addr, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover")
	fits := []byte(strings.Repeat("a", 256<<10))
	c.send(0x80|frame.Rsv1|frame.OpText, newDeflater(false).compress(fits))
	c.expect(frame.OpText, []byte(digestOf(fits)))
	bomb := newDeflater(false).compress(make([]byte, 4<<20))
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed", len(bomb))
	}
	c.send(0x80|frame.Rsv1|frame.OpBinary, bomb)
	c.expectClose(CloseTryAgainLater)
}

// A write queue that would go past the budget is full for WriteAsync; an
// empty one still takes a frame.
func TestMemoryBudgetWriteQueue(t *testing.T) {
	const budget = 256 << 10
	u := &Upgrader{ServerOptions: &ServerOptions{MemoryBudget: budget, WriteQueueBytes: 64 << 20, WriteQueueMessages: 1 << 20}}
	budgetSettles(t, u)
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	addr := serve(t, u, h)
	c := connect(t, addr)
	conn := <-h.conns
	frameOf := make([]byte, 32<<10)
	most := int64(0)
	for range 1000 {
		conn.WriteAsync(OpcodeBinary, frameOf, nil)
		most = max(most, u.conns.budget.used.Load())
	}
	if u.Stats().Dropped == 0 {
		t.Fatal("nothing dropped: the client reads nothing, so the queue must have met the budget")
	}
	if most > budget+32<<10+frame.MaxHeaderSize {
		t.Fatalf("queued frames held %d bytes of a %d-byte budget", most, budget)
	}
	c.nc.Close()
	h.waitClosed(t)
}
