package leak

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// FasthttpGoroutines names the goroutines fasthttp starts that outlive
// the servers they serve, for VerifyTestMainIgnoring: the clock behind the
// Date header, which runs for the life of the process; the compression
// workers (stackless.funcWorker), likewise; and a worker pool's cleaner,
// which notices Shutdown only when it next wakes, up to 10 s later.
var FasthttpGoroutines = []string{
	"github.com/valyala/fasthttp.updateServerDate",
	"github.com/valyala/fasthttp/stackless.funcWorker",
	"github.com/valyala/fasthttp.(*workerPool).Start",
}

// VerifyTestMainIgnoring is VerifyTestMain for a package whose
// dependencies start goroutines that outlive every test by design, so
// that its tests can run those dependencies as they are configured in
// production instead of turning features off to pass the leak check.
//
// A goroutine is ignored when the function it was started with (the frame
// above "created by" in its stack) is named in ignore, or is a function
// literal inside one named there ("pkg.F" also covers "pkg.F.func1").
// Only that entry function counts, not every frame of the stack: a leaked
// connection goroutine that is running some library closure must still be
// reported.
func VerifyTestMainIgnoring(m *testing.M, ignore ...string) {
	code := m.Run()
	if code == 0 {
		if leaks := findLeaks(leakWait, ignore); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "leak: tests passed but %d goroutine(s) leaked:\n\n%s\n", len(leaks), strings.Join(leaks, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// ignoredGoroutine reports whether the goroutine whose stack is g was
// started with a function that ignore names (see VerifyTestMainIgnoring).
func ignoredGoroutine(g string, ignore []string) bool {
	entry := entryFunction(g)
	if entry == "" {
		return false
	}
	for _, name := range ignore {
		if entry == name || strings.HasPrefix(entry, name+".func") {
			return true
		}
	}
	return false
}

// entryFunction returns the function a goroutine was started with: the
// last frame before its "created by" line. It returns "" when the stack
// has no such line (the main goroutine) or runtime.Stack elided the
// frames in between, where the entry cannot be known.
func entryFunction(g string) string {
	lines := strings.Split(g, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "created by ") {
			// A frame is a function line followed by a tab-indented
			// file:line line.
			if i < 2 || !strings.HasPrefix(lines[i-1], "\t") {
				return ""
			}
			return topFunction(lines[i-2])
		}
	}
	return ""
}
