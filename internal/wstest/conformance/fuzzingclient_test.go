package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gwsgo/gws/internal/wstest/leak"
)

// TestFuzzingClientCommand builds cmd/fuzzingclient and runs it as a user
// would, against the reference server and against flawed ones.
func TestFuzzingClientCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a command")
	}
	t.Cleanup(func() { leak.VerifyNone(t) })
	bin := filepath.Join(t.TempDir(), "fuzzingclient")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/fuzzingclient").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	good := startRefServer(t, flaws{})
	run := func(t *testing.T, args ...string) (stdout string, status int) {
		t.Helper()
		var out, errOut bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			status = exit.ExitCode()
		case err != nil:
			t.Fatalf("running fuzzingclient: %v", err)
		}
		if errOut.Len() > 0 {
			t.Logf("stderr: %s", errOut.String())
		}
		return out.String(), status
	}
	line := regexp.MustCompile(`^(\d+(\.\d+)+) +(OK|NON-STRICT|FAILED) *(.*)$`)
	// parse returns the status of each case line and the summary line.
	parse := func(t *testing.T, out string) (map[string]string, string) {
		t.Helper()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		got := map[string]string{}
		for _, l := range lines[:len(lines)-1] {
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("malformed case line %q", l)
			}
			got[m[1]] = m[3]
		}
		return got, lines[len(lines)-1]
	}

	t.Run("passes against the reference", func(t *testing.T) {
		// A sample of every kind of case: all of them run against the
		// reference in TestDriverAgainstReference.
		const spec = "1,2,7.1,12.1,13.3,13.11,13.12"
		out, status := run(t, "-addr", good, "-path", "/ws", "-cases", spec)
		got, summary := parse(t, out)
		n := len(Cases(1, 2)) + 6 + 18 + 18 + 9 + 4
		if want := fmt.Sprintf("%d passed, 0 failed", n); status != 0 || len(got) != n || summary != want {
			t.Errorf("status %d, %d case lines, summary %q; want 0, %d, %q\n%s", status, len(got), summary, n, want, out)
		}
	})
	t.Run("failures", func(t *testing.T) {
		bad := startRefServer(t, flaws{corruptEcho: true, lateUTF8Check: true})
		out, status := run(t, "-addr", bad, "-cases", "1.1.1,1.1.2,6.4.1,12.1.1")
		got, summary := parse(t, out)
		want := map[string]string{"1.1.1": "OK", "1.1.2": "FAILED", "6.4.1": "NON-STRICT", "12.1.1": "FAILED"}
		if status != 1 || summary != "1 passed, 3 failed" || len(got) != len(want) {
			t.Errorf("status %d, summary %q; want 1, %q\n%s", status, summary, "1 passed, 3 failed", out)
		}
		for id, s := range want {
			if got[id] != s {
				t.Errorf("case %s: %s, want %s", id, got[id], s)
			}
		}
	})
	t.Run("sections and ranges", func(t *testing.T) {
		out, status := run(t, "-addr", good, "-cases", "2-3, 10")
		got, summary := parse(t, out)
		if n := len(Cases(2, 3, 10)); status != 0 || len(got) != n || summary != fmt.Sprintf("%d passed, 0 failed", n) {
			t.Errorf("status %d, summary %q, %d cases; want 0 and %d cases\n%s", status, summary, len(got), n, out)
		}
	})
	for _, spec := range []string{"x", "7-1", "99.1", "1,,2", ""} {
		t.Run("bad -cases "+spec, func(t *testing.T) {
			if out, status := run(t, "-addr", good, "-cases", spec); status != 2 || out != "" {
				t.Errorf("status %d, output %q; want 2 and none", status, out)
			}
		})
	}
}
