package bufpool

import "testing"

func TestGetSizes(t *testing.T) {
	for _, c := range []struct{ n, cap int }{
		{0, 64}, {1, 64}, {64, 64}, {65, 128}, {4096, 4096}, {4097, 8192}, {16 << 20, 16 << 20}, {16<<20 + 1, 16<<20 + 1},
	} {
		b := Get(c.n)
		if len(*b) != c.n || cap(*b) != c.cap {
			t.Errorf("Get(%d): len %d cap %d, want len %d cap %d", c.n, len(*b), cap(*b), c.n, c.cap)
		}
		Put(b)
	}
}

func TestPutIgnoresForeignBuffers(t *testing.T) {
	odd := make([]byte, 100)
	Put(&odd) // not a tier size: must not enter a pool
	for range 100 {
		if b := Get(100); cap(*b) != 128 {
			t.Fatalf("Get(100) returned a buffer of cap %d", cap(*b))
		}
	}
}

func TestGrowKeepsContents(t *testing.T) {
	b := Get(3)
	copy(*b, "abc")
	b = Grow(b, 1000, 1<<30)
	if string(*b) != "abc" || cap(*b) < 1003 {
		t.Fatalf("Grow: %q cap %d", *b, cap(*b))
	}
	*b = append(*b, "def"...)
	if string(*b) != "abcdef" {
		t.Fatalf("append after Grow: %q", *b)
	}
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	Put(Get(1024))
	allocs := testing.AllocsPerRun(1000, func() { Put(Get(1000)) })
	if allocs != 0 {
		t.Fatalf("Get+Put allocated %v times per run", allocs)
	}
}

// TestGrowPastTiersIsLinear grows a buffer 64 KiB at a time to 64 MiB,
// the way a message arrives in fragments: past the largest tier it must
// keep doubling, so that all the moves together copy less than the final
// size twice over, and it must not pass the bound it was given.
func TestGrowPastTiersIsLinear(t *testing.T) {
	const piece, limit = 64 << 10, 64 << 20
	b := Get(0)
	copied, moves := 0, 0
	for len(*b) < limit {
		before := &(*b)[:cap(*b)][0]
		l := len(*b)
		b = Grow(b, piece, limit)
		if &(*b)[:cap(*b)][0] != before {
			copied += l
			moves++
		}
		*b = (*b)[:l+piece]
	}
	if copied > 2*limit || cap(*b) > limit {
		t.Fatalf("growing to %d bytes copied %d bytes in %d moves, capacity %d", limit, copied, moves, cap(*b))
	}
	t.Logf("%d moves copied %d MiB", moves, copied>>20)
}

// TestCapsAgree checks that Cap and GrowCap announce the capacities Get
// and Grow then deliver, which the memory budget counts before taking.
func TestCapsAgree(t *testing.T) {
	for _, n := range []int{0, 1, 64, 65, 4096, 16 << 20, 16<<20 + 1} {
		b := Get(n)
		if cap(*b) != Cap(n) {
			t.Errorf("Cap(%d) = %d, Get gave %d", n, Cap(n), cap(*b))
		}
		Put(b)
	}
	const most = 64 << 20
	b := Get(100)
	for len(*b) < most {
		n := min(64<<10, most-len(*b))
		want := GrowCap(len(*b), cap(*b), n, most)
		b = Grow(b, n, most)
		if cap(*b) != want {
			t.Fatalf("at %d bytes: GrowCap %d, Grow gave %d", len(*b), want, cap(*b))
		}
		*b = (*b)[:len(*b)+n]
	}
}
