package gwsechov5_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when a goroutine running gws code outlives the
// examples, which open real connections. The repository's leak check
// (internal/wstest/leak) is in a module this published one must not
// require, so this is the narrower check core's tests make: no stack may
// hold a gws frame once the examples are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := gwsGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines running gws code outlived the examples:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// gwsGoroutines waits up to wait for every goroutine with a frame in a gws
// package to end, and returns the stacks of those that did not.
func gwsGoroutines(wait time.Duration) string {
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		var leaked []string
		for g := range strings.SplitSeq(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "github.com/gwsgo/gws/") && !strings.Contains(g, "gwsGoroutines") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
	}
}
