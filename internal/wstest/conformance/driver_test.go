package conformance

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gwsgo/gws/internal/wstest/leak"
)

func TestDriverAgainstReference(t *testing.T) {
	t.Cleanup(func() { leak.VerifyNone(t) })
	addr := startRefServer(t, flaws{})
	cases := Cases()
	start := time.Now()
	Run(t, addr, "/", cases)
	t.Logf("%d cases in %v", len(cases), time.Since(start).Round(time.Millisecond))
}

// TestDriverDetectsFlaws proves that the cases can fail: against servers
// with one deliberate flaw each, the cases that look at that behaviour
// must report an error.
func TestDriverDetectsFlaws(t *testing.T) {
	t.Cleanup(func() { leak.VerifyNone(t) })
	for _, tc := range []struct {
		name      string
		flaws     flaws
		ids       []string
		nonStrict bool // the error must wrap ErrNonStrict
	}{
		{"echoes invalid UTF-8", flaws{noUTF8Check: true}, []string{"6.3.1", "6.3.2", "6.4.1", "6.4.3", "6.6.1", "6.12.8", "6.21.1"}, false},
		{"validates UTF-8 only at the end of a message", flaws{lateUTF8Check: true}, []string{"6.4.1", "6.4.2", "6.4.3", "6.4.4"}, true},
		{"fails with 1000 instead of 1002", flaws{wrongCode: true}, []string{"2.5", "3.1", "3.2", "4.2.1", "5.1", "5.18", "7.3.2", "7.9.1"}, false},
		{"corrupts echoes", flaws{corruptEcho: true}, []string{"1.1.2", "1.2.8", "5.3", "5.19", "6.2.3", "6.23.1", "7.1.1", "10.1.1"}, false},
		{"sends empty pongs", flaws{emptyPongs: true}, []string{"2.2", "2.6", "2.11", "5.6", "5.20"}, false},
		{"keeps TCP open after closing", flaws{keepOpen: true}, []string{"1.1.1", "3.1", "7.3.3"}, false},
		{"does not compress", flaws{deflate: deflateFlaws{unsupported: true}}, []string{"12.1.1", "13.1.1", "13.12.1"}, false},
		{"answers an extension never offered", flaws{deflate: deflateFlaws{unsolicited: true}}, []string{"1.1.1", "2.1", "7.1.1"}, false},
		{"sets RSV1 on continuation frames", flaws{deflate: deflateFlaws{rsv1OnContinuation: true}}, []string{"12.2.10", "12.5.9", "12.5.10"}, false},
		{"keeps context after agreeing server_no_context_takeover", flaws{deflate: deflateFlaws{ignoreNoContext: true}}, []string{"13.2.4", "13.2.5", "13.6.6"}, false},
		{"compresses past the agreed window", flaws{deflate: deflateFlaws{ignoreWindow: true}}, []string{"13.3.5", "13.5.6", "13.9.5"}, false},
		{"forgets the client's context", flaws{deflate: deflateFlaws{forgetClientWindow: true}}, []string{"13.8.4", "13.8.6", "13.9.4"}, false},
		{"answers client_max_window_bits unasked", flaws{deflate: deflateFlaws{clientBitsUnasked: true}}, []string{"13.8.1", "13.9.3", "13.12.2"}, false},
		{"accepts invalid offers", flaws{deflate: deflateFlaws{acceptInvalid: true}}, []string{"13.11.1", "13.11.2", "13.11.4", "13.11.8", "13.12.1"}, false},
		{"widens the server window", flaws{deflate: deflateFlaws{widenWindow: true}}, []string{"13.3.1", "13.5.1", "13.9.1"}, false},
		{"drops server_no_context_takeover from its answer", flaws{deflate: deflateFlaws{dropNoContext: true}}, []string{"13.2.1", "13.6.1", "13.12.2"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startRefServer(t, tc.flaws)
			var wg sync.WaitGroup
			for _, id := range tc.ids {
				c := caseByID(t, id)
				wg.Go(func() {
					err := c.Check(addr, "/")
					switch {
					case err == nil:
						t.Errorf("case %s passed against a server that %s", id, tc.name)
					case errors.Is(err, ErrNonStrict) != tc.nonStrict:
						t.Errorf("case %s: error %q, want one that wraps ErrNonStrict: %v", id, err, tc.nonStrict)
					default:
						t.Logf("case %s: %v", id, err)
					}
				})
			}
			wg.Wait()
		})
	}
}

func caseByID(t *testing.T, id string) Case {
	t.Helper()
	for _, c := range Cases() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no case %s", id)
	return Case{}
}
