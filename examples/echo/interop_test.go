package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gwsgo/gws/internal/wstest"
)

// TestInterop runs interop/ws_client.mjs against the echo server on every
// router: checks made with the client of the ws package (Node.js), which
// shares no code with gws and inflates with zlib, so that the project's own
// Autobahn-style driver is not the only judge. Each router is checked as
// `go run ./examples/echo -router NAME` serves, and with -compress.
//
// Context takeover is off in -compress, so it gets a run of its own with
// both directions kept, and so does -codec klauspost; those paths are all
// core's, so one router is enough.
//
// Without node and npm the test skips, except under CI=true, where it
// fails: a CI machine without them would otherwise pass without checking.
func TestInterop(t *testing.T) {
	node, dir := interopClient(t)
	modes := []struct {
		suffix             string
		compress, takeover bool
		codec              string
	}{
		{"", false, false, "std"},
		{"/compress", true, false, "std"},
		{"/compress-takeover", true, true, "std"},
		{"/compress-klauspost", true, false, "klauspost"},
		{"/compress-takeover-klauspost", true, true, "klauspost"},
	}
	for _, name := range slices.Sorted(maps.Keys(routers)) {
		for _, mode := range modes {
			if (mode.takeover || mode.codec != "std") && name != "nethttp" {
				continue
			}
			t.Run(name+mode.suffix, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				u := newUpgrader()
				u.ServerOptions.CompressEnabled = mode.compress
				u.ServerOptions.ServerContextTakeover = mode.takeover
				u.ServerOptions.ClientContextTakeover = mode.takeover
				u.ServerOptions.CompressCodec = codecs[mode.codec]
				done := make(chan error, 1)
				go func() { done <- routers[name](ln, u, wstest.Echo{}) }()
				defer func() {
					ln.Close()
					if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
						t.Errorf("server: %v", err)
					}
				}()
				var args []string
				if mode.compress {
					args = append(args, "--compress")
				}
				runInteropClient(t, node, dir, "ws://"+ln.Addr().String()+"/interop", args...)
			})
		}
	}
}

// interopClient returns the node binary and a folder holding the client
// with its locked dependencies installed. It installs into a temporary copy
// so that a test never writes into the source tree, once per test run;
// npm's own cache makes the install after the first a local one.
func interopClient(t *testing.T) (node, dir string) {
	t.Helper()
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if err := errors.Join(nodeErr, npmErr); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the ws (Node.js) interop check needs node and npm, and CI=true: %v", err)
		}
		// Printed outside the test log as well, so that it shows without -v.
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING TestInterop: the ws (Node.js) interop check needs node and npm: %v ***\n\n", err)
		t.Skipf("SKIPPED: the ws (Node.js) interop check needs node and npm: %v", err)
	}
	dir = t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "ws_client.mjs"} {
		b, err := os.ReadFile(filepath.Join("interop", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci (for the ws package): %v\n%s", err, out)
	}
	t.Logf("npm ci: %v", time.Since(start).Round(time.Millisecond))
	return node, dir
}

var interopSummary = regexp.MustCompile(`^(\d+) passed, (\d+) failed$`)

// runInteropClient runs the client against url and fails t on every failed
// check, on a missing summary and on a non-zero exit.
func runInteropClient(t *testing.T, node, dir, url string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append(append([]string{"ws_client.mjs"}, args...), url)...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start).Round(time.Millisecond)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	summary := interopSummary.FindStringSubmatch(lines[len(lines)-1])
	ok := err == nil && summary != nil && summary[2] == "0" && summary[1] != "0"
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "FAIL "):
			t.Error(line)
		case !ok || testing.Verbose():
			t.Log(line)
		}
	}
	switch {
	case ctx.Err() != nil:
		t.Errorf("ws client killed after %v", elapsed)
	case err != nil:
		t.Errorf("ws client: %v", err)
	case summary == nil:
		t.Errorf("ws client printed no %q line", "N passed, M failed")
	case summary[1] == "0":
		t.Errorf("ws client ran no check")
	}
	t.Logf("ws client%s: %s in %v", strings.Join(append([]string{""}, args...), " "), lines[len(lines)-1], elapsed)
}
