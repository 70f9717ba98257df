package main

import (
	"context"
	"io"
	"net"
	"os"
	"testing"

	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/fuzzserver"
	"github.com/gwsgo/gws/internal/wstest/leak"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// TestFuzzingServer runs the testee, exactly as the command does, against
// the project's fuzzing server, and requires every case to pass: sections
// 1 to 7, 10, 12 and 13, and section 9 scaled down.
func TestFuzzingServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cases := append(conformance.Cases(), conformance.PerformanceCases(64)...)
	s := fuzzserver.New(ln, cases)
	defer s.Close()
	var log io.Writer = io.Discard
	if testing.Verbose() {
		log = os.Stderr
	}
	if err := run(context.Background(), s.URL(), "gws", log); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Results("gws") {
		if r.Err != nil {
			t.Errorf("case %s: %s\nexpected: %s\ngot: %v", r.Case.ID, r.Case.Desc, r.Case.Expect, r.Err)
		}
	}
}
