package leak

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestVerifyNoneReportsLeak(t *testing.T) {
	release := make(chan struct{})
	go blockedHelper(release)

	rec := &recordingTB{TB: t}
	verifyNone(rec, 50*time.Millisecond) // the goroutine will not end by itself
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "blockedHelper") {
		t.Errorf("leak of blockedHelper not reported; got %q", rec.errors)
	}

	close(release)
	rec = &recordingTB{TB: t}
	verifyNone(rec, leakWait)
	if len(rec.errors) != 0 {
		t.Errorf("leak reported after the goroutine ended: %q", rec.errors)
	}
}

func blockedHelper(release chan struct{}) { <-release }

// recordingTB records errors instead of failing the test.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
