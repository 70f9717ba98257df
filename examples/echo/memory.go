package main

import (
	"flag"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	gws "github.com/gwsgo/gws/core"
)

// The flags for many connections and hostile clients, on every -router:
// -poller parks idle connections in gws's epoll set (Linux), and
// -memory-budget bounds what messages in flight hold across all of them.
var (
	poller       = flag.Bool("poller", false, "park idle connections in an epoll set instead of on a goroutine each (ServerOptions.Poller; Linux)")
	memoryBudget byteSize
)

func init() {
	flag.Var(&memoryBudget, "memory-budget", "bound the bytes all connections hold in messages being received and in write queues, e.g. 256MiB (ServerOptions.MemoryBudget); also sets the Go runtime's memory limit to the budget plus 32 MiB")
}

// applyMemoryFlags sets what -poller and -memory-budget ask for. A budget
// bounds what gws holds; the Go runtime would keep garbage on top of it up
// to the size of the live heap (GOGC=100) before collecting, so the
// runtime's soft memory limit is set too, unless GOMEMLIMIT says
// otherwise: the budget plus 32 MiB for the rest of the program (the
// runtime, read buffers, pooled buffers between messages). With 64 MiB the
// collector left RSS at the budget plus 52-59 MiB in TestMemoryBudgetFlood,
// too close to the bound it checks; with 32 MiB, plus 27-28 MiB.
func applyMemoryFlags(o *gws.ServerOptions) {
	o.Poller = *poller
	o.MemoryBudget = int(memoryBudget)
	if memoryBudget > 0 && debug.SetMemoryLimit(-1) == 1<<63-1 {
		debug.SetMemoryLimit(int64(memoryBudget) + 32<<20)
	}
}

// byteSize is a flag holding a size in bytes, written with a unit or not:
// 256MiB, 1GiB, 64KiB, 1000000.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

// parseSize reads a size in bytes with an optional binary unit.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"B", 0}}
	shift := uint(0)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, shift = strings.TrimSuffix(s, u.suffix), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > 1<<(62-shift) {
		return 0, fmt.Errorf("bad size %q: want a number of bytes, or of KiB, MiB or GiB, such as 256MiB", s)
	}
	return n << shift, nil
}
