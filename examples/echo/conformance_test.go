package main

import (
	"errors"
	"net"
	"slices"
	"testing"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/leak"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// skipUnderRace skips a conformance run on any router but net/http under
// the race detector (see TestConformance).
func skipUnderRace(t *testing.T, router string) {
	if raceEnabled && router != "nethttp" {
		t.Skip("under the race detector conformance runs on net/http only; scripts/test runs every router without it")
	}
}

// conformanceModes are the runs of the cases on each router: sections 1–7
// and 10 as the echo server runs by default, and the permessage-deflate
// sections 12 and 13 as it runs with -compress, with each codec.
var conformanceModes = []struct {
	suffix   string
	compress bool
	codec    string
	sections []int
}{
	{"", false, "std", []int{1, 2, 3, 4, 5, 6, 7, 10}},
	{"/compress", true, "std", []int{12, 13}},
	{"/compress-klauspost", true, "klauspost", []int{12, 13}},
}

// pollerModes are the runs in poller mode (-poller): sections 1–7 and 10
// on every router, each of which hands its connection over in its own way
// (net/http's hijacked socket, fasthttp's duplicate) for the poller to take
// over; compression and the limits of section 9 (large messages, many
// fragments, many small messages: the read paths the poller changes) on
// net/http alone, since what they check lies below the router. Section 9
// runs at a sixteenth of Autobahn's sizes to keep the suite short, under
// -memory-budget 256MiB, which its messages (up to 1 MiB at that scale)
// must pass through untouched.
var pollerModes = []struct {
	suffix   string
	compress bool
	budget   int
	routers  []string // nil: every router
	cases    []conformance.Case
}{
	{"/poller", false, 0, nil, conformance.Cases(1, 2, 3, 4, 5, 6, 7, 10)},
	{"/poller-compress", true, 0, []string{"nethttp"}, conformance.Cases(12, 13)},
	{"/poller-limits", false, 256 << 20, []string{"nethttp"}, conformance.PerformanceCases(16)},
}

// TestConformance runs the Autobahn-style cases against the echo server on
// every router, exactly as `go run ./examples/echo -router NAME` serves:
// sections 1–7 and 10 as it runs by default, and the permessage-deflate
// sections 12 and 13 as it runs with -compress (subtests "NAME/compress")
// and with -compress -codec klauspost ("NAME/compress-klauspost"). The
// codec runs under every router, as the issue that added it asks, though
// it sits below anything a router touches. Then the runs of pollerModes.
//
// Under the race detector only net/http runs: the whole matrix takes
// longer than a package may there (several minutes for what takes one
// without), and the routers differ only in the handshake, whose races
// their own tests and the other tests here check. scripts/test runs the
// whole matrix once more without the race detector.
func TestConformance(t *testing.T) {
	for name, serve := range routers {
		for _, mode := range conformanceModes {
			t.Run(name+mode.suffix, func(t *testing.T) {
				skipUnderRace(t, name)
				u := newUpgrader()
				u.ServerOptions.CompressEnabled = mode.compress
				u.ServerOptions.CompressCodec = codecs[mode.codec]
				runConformance(t, serve, u, conformance.Cases(mode.sections...))
			})
		}
		for _, mode := range pollerModes {
			if mode.routers != nil && !slices.Contains(mode.routers, name) {
				continue
			}
			t.Run(name+mode.suffix, func(t *testing.T) {
				skipUnderRace(t, name)
				u := newUpgrader()
				u.ServerOptions.CompressEnabled = mode.compress
				u.ServerOptions.Poller = true
				u.ServerOptions.MemoryBudget = mode.budget
				runConformance(t, serve, u, mode.cases)
				if n := u.Stats().ClosedBy["memory_budget"]; n != 0 {
					t.Errorf("%d connections closed for the memory budget", n)
				}
			})
		}
	}
}

// runConformance serves echo with u on a port of its own and runs cases.
func runConformance(t *testing.T, serve server, u *gws.Upgrader, cases []conformance.Case) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ln, u, wstest.Echo{}) }()
	conformance.Run(t, ln.Addr().String(), "/", cases)
	ln.Close()
	if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("server: %v", err)
	}
}
