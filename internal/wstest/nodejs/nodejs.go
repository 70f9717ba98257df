package nodejs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Package returns the node binary and a temporary folder holding a
// copy of the Node.js package in dir (its package.json, package-lock.json
// and scripts; node_modules aside) with its locked dependencies installed
// by npm ci, so that a test never writes into the source tree; npm's own
// cache makes every install after the first a local one. what names the
// check in messages. Without node and npm the test skips, except under
// CI=true, where it fails: a CI machine without them would otherwise pass
// without checking.
func Package(t testing.TB, dir, what string) (node, work string) {
	t.Helper()
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if err := errors.Join(nodeErr, npmErr); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s needs node and npm, and CI=true: %v", what, err)
		}
		// Printed outside the test log as well, so that it shows without -v.
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING %s: %s needs node and npm: %v ***\n\n", t.Name(), what, err)
		t.Skipf("SKIPPED: %s needs node and npm: %v", what, err)
	}
	work = t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	t.Logf("npm ci: %v", time.Since(start).Round(time.Millisecond))
	return node, work
}

var nodeSummary = regexp.MustCompile(`^(\d+) passed, (\d+) failed$`)

// RunScript runs script in dir with node and args, for up to timeout,
// and fails t on every line it prints that starts with "FAIL ", on a last
// line other than "N passed, M failed" with N > 0 and M = 0, and on a
// non-zero exit. It logs every line when the run failed or with -v.
func RunScript(t testing.TB, node, dir string, timeout time.Duration, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start).Round(time.Millisecond)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	summary := nodeSummary.FindStringSubmatch(lines[len(lines)-1])
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
		t.Errorf("%s killed after %v", script, elapsed)
	case err != nil:
		t.Errorf("%s: %v", script, err)
	case summary == nil:
		t.Errorf("%s printed no %q line", script, "N passed, M failed")
	case summary[1] == "0":
		t.Errorf("%s ran no check", script)
	}
	t.Logf("%s%s: %s in %v", script, strings.Join(append([]string{""}, args...), " "), lines[len(lines)-1], elapsed)
}
