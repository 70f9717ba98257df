package leak

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIgnoredGoroutine(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	go blockedHelper(release)
	go func() { blockedHelper(release) }() // blockedHelper runs, but is not the entry
	var started []string
	for deadline := time.Now().Add(leakWait); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		started = slices.DeleteFunc(unexpectedGoroutines(), func(g string) bool {
			return !strings.Contains(g, "blockedHelper")
		})
		if len(started) == 2 {
			break
		}
	}
	if len(started) != 2 {
		t.Fatalf("found %d blocked goroutines, want 2", len(started))
	}
	const helper = "github.com/gwsgo/gws/internal/wstest/leak.blockedHelper"
	const literal = "github.com/gwsgo/gws/internal/wstest/leak.TestIgnoredGoroutine"
	var byHelper, byLiteral int
	for _, g := range started {
		if ignoredGoroutine(g, []string{helper}) {
			byHelper++
		}
		if ignoredGoroutine(g, []string{literal}) {
			byLiteral++
		}
		if ignoredGoroutine(g, []string{"github.com/gwsgo/gws/internal/wstest/leak.blocked"}) {
			t.Errorf("a prefix of the entry's name ignored:\n%s", g)
		}
	}
	if byHelper != 1 || byLiteral != 1 {
		t.Errorf("ignoring %s matched %d goroutines and %s %d, want 1 each (the entry function only)", helper, byHelper, literal, byLiteral)
	}
}
