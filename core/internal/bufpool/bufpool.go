// Package bufpool is gws's byte-buffer pool: one sync.Pool per power-of-two
// size from 64 bytes to 16 MiB.
//
// Payloads and encoded frames borrow a buffer from the smallest tier that
// fits and give it back when done, so a steady stream of messages reuses the
// same few buffers instead of allocating one per message. Buffers travel as
// *[]byte so that putting one back does not allocate an interface value.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 6  // 64 B
	maxShift = 24 // 16 MiB
)

var tiers [maxShift - minShift + 1]sync.Pool

// tier returns the index of the smallest tier holding n bytes, or -1 when n
// is larger than the largest tier.
func tier(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	s := bits.Len(uint(n - 1))
	if s > maxShift {
		return -1
	}
	return s - minShift
}

// Cap returns the capacity of the buffer Get(n) returns: n rounded up to a
// power of two, or n itself past the largest tier. What a buffer costs can
// thus be counted before it is taken.
func Cap(n int) int {
	if t := tier(n); t >= 0 {
		return 1 << (t + minShift)
	}
	return n
}

// Get returns a buffer of length n. Its capacity is n rounded up to a power
// of two; past 16 MiB it is a fresh allocation of exactly n.
func Get(n int) *[]byte {
	t := tier(n)
	if t < 0 {
		b := make([]byte, n)
		return &b
	}
	if v := tiers[t].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<(t+minShift))
	return &b
}

// Put gives b back for reuse. Buffers whose capacity is not a tier size (ones
// not from Get, or over 16 MiB) are left to the garbage collector. The caller
// must not touch b afterwards.
func Put(b *[]byte) {
	c := cap(*b)
	if c < 1<<minShift || c&(c-1) != 0 {
		return
	}
	t := bits.Len(uint(c)) - 1 - minShift
	if t >= len(tiers) {
		return
	}
	tiers[t].Put(b)
}

// Grow returns a buffer holding the contents of b with room for n more
// bytes, giving b back to the pool when it had to move. Within the tiers
// capacities double by construction; past the largest tier the capacity
// doubles too, so that a buffer grown a piece at a time to any size is
// copied O(size) bytes in all instead of once per piece. most is the size
// the buffer may reach: once doubling would come within half of it, the
// buffer goes straight to most, sparing the last, largest copy (what a
// message at the limit holds at its peak is then its final buffer and the
// largest tier, not also a buffer of half its size). The result always
// holds len+n.
func Grow(b *[]byte, n, most int) *[]byte { return grow(b, n, most, true) }

// GrowAndDrop is Grow, leaving the buffer it moves from to the garbage
// collector instead of the pool. Under a memory budget the buffers a
// growing message leaves behind must not pile up in the pool, where no
// one counts them: many messages growing at once each leave one of every
// size below theirs.
func GrowAndDrop(b *[]byte, n, most int) *[]byte { return grow(b, n, most, false) }

func grow(b *[]byte, n, most int, pool bool) *[]byte {
	l := len(*b)
	c := GrowCap(l, cap(*b), n, most)
	if c == cap(*b) {
		return b
	}
	var nb *[]byte
	if tier(l+n) >= 0 {
		nb = Get(l + n)
	} else {
		s := make([]byte, l+n, c)
		nb = &s
	}
	copy(*nb, *b)
	*nb = (*nb)[:l]
	if pool {
		Put(b)
	}
	return nb
}

// GrowCap returns the capacity of the buffer Grow returns for a buffer of
// length l and capacity c that needs n more bytes, without growing it.
func GrowCap(l, c, n, most int) int {
	switch {
	case l+n <= c:
		return c
	case tier(l+n) >= 0:
		return Cap(l + n)
	}
	c *= 2
	if c >= most/2 {
		c = most
	}
	return max(l+n, c)
}
