package leak

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// leakWait is how long the leak checks give goroutines that are on their
// way out (a connection handler after its socket closed, a server's
// accept loop after Close) to finish before calling them leaked.
const leakWait = 5 * time.Second

// VerifyNone fails t if goroutines other than the caller's, the testing
// package's own and the runtime's are still running, retrying for up to
// 5 s, and prints the stacks of those that remain. Call it at the end of a
// test or register it with t.Cleanup before the cleanups that stop
// servers, so that it runs after them. It cannot tell one test's
// goroutines from another's, so it is only meaningful while no other test
// of the package runs in parallel.
func VerifyNone(t testing.TB) {
	t.Helper()
	verifyNone(t, leakWait)
}

func verifyNone(t testing.TB, wait time.Duration) {
	t.Helper()
	if leaks := findLeaks(wait, nil); len(leaks) > 0 {
		t.Errorf("leak: %d leaked goroutine(s):\n\n%s", len(leaks), strings.Join(leaks, "\n\n"))
	}
}

// VerifyTestMain runs the tests of m and exits with their status, or with
// status 1 if they passed but goroutines remain afterwards (see
// VerifyNone). Use it as the whole body of a package's TestMain.
func VerifyTestMain(m *testing.M) { VerifyTestMainIgnoring(m) }

// findLeaks returns the stacks of the goroutines that should not be
// running, after waiting up to wait for them to end. Those that ignore
// names are left out before deciding whether to wait, so that those that
// never end do not hold every run up for the whole of wait.
func findLeaks(wait time.Duration, ignore []string) []string {
	deadline := time.Now().Add(wait)
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		leaks := slices.DeleteFunc(unexpectedGoroutines(), func(g string) bool {
			return ignoredGoroutine(g, ignore)
		})
		if len(leaks) == 0 || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(pause)
	}
}

// unexpectedGoroutines returns the stack of every goroutine but the
// caller's and those that belong to the testing package or the runtime.
func unexpectedGoroutines() []string {
	self := goroutineHeader(stacks(false))
	var out []string
	for g := range strings.SplitSeq(stacks(true), "\n\n") {
		g = strings.TrimSpace(g)
		if g == "" || goroutineHeader(g) == self || expectedGoroutine(g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// stacks returns runtime.Stack's text for the calling goroutine or for
// all of them, in a buffer grown until it fits.
func stacks(all bool) string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, all)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// goroutineHeader returns "goroutine N" from the first line of a stack,
// which identifies the goroutine.
func goroutineHeader(stack string) string {
	header, _, _ := strings.Cut(stack, " [")
	return header
}

// expectedGoroutine reports whether the goroutine whose stack is g is one
// that runs whatever the code under test does. The rules are those of
// go.uber.org/goleak: the testing package's goroutines waiting for tests
// and subtests, the goroutines os/signal and runtime/trace start, and
// goroutines of cgo calls.
func expectedGoroutine(g string) bool {
	header, frames, _ := strings.Cut(g, "\n")
	state := header
	if _, s, ok := strings.Cut(header, " ["); ok {
		state = s
	}
	top := topFunction(frames)
	switch top {
	case "testing.RunTests", "testing.(*T).Run", "testing.(*T).Parallel",
		"testing.runFuzzing", "testing.runFuzzTests":
		return strings.HasPrefix(state, "chan receive")
	case "os/signal.signal_recv", "os/signal.loop":
		return true
	case "runtime.goexit":
		return strings.HasPrefix(state, "syscall")
	}
	return strings.Contains(frames, "runtime.ensureSigM") || strings.Contains(frames, "runtime.ReadTrace")
}

// topFunction returns the name of the innermost function of a stack's
// frames: the first line, without its argument list.
func topFunction(frames string) string {
	line, _, _ := strings.Cut(frames, "\n")
	if i := strings.LastIndexByte(line, '('); i > 0 {
		line = line[:i]
	}
	return strings.TrimSpace(line)
}
