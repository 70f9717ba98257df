// Command fuzzingserver plays Autobahn's fuzzing server for a WebSocket
// client started separately: it speaks the standard protocol
// (/getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A) and
// runs the cases of package conformance from the server's end, sections 1
// to 7, 9, 10, 12 and 13.
//
//	go run ./internal/wstest/cmd/fuzzingserver -addr 127.0.0.1:9001 &
//	go run ./examples/autobahn-client -url ws://127.0.0.1:9001 -agent gws
//
// Once the agent has run every case it prints a line per case (its ID, OK
// or FAILED, and what the client did wrong), then "N passed, M failed",
// and exits with status 1 if any case failed or was not run, 2 on bad
// usage. -scale divides the message sizes and counts of section 9 (the
// performance cases) for a quicker run.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/fuzzserver"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command with its arguments and outputs, returning the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fuzzingserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on")
	agent := fs.String("agent", "gws", "the agent name the client under test reports")
	scale := fs.Int("scale", 1, "divide section 9's message sizes and counts by this")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up if the agent has not run every case by then")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *scale < 1 {
		if err == nil {
			fmt.Fprintln(stderr, "fuzzingserver: bad arguments")
		}
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "fuzzingserver: %v\n", err)
		return 2
	}
	s := fuzzserver.New(ln, append(conformance.Cases(), conformance.PerformanceCases(*scale)...))
	fmt.Fprintf(stdout, "listening %s\n", s.URL())
	results := waitForAgent(s, *agent, *timeout)
	// The client asks for /updateReports after its last case: let it.
	time.Sleep(500 * time.Millisecond)
	s.Close()
	failed := 0
	for _, r := range results {
		status, reason := "OK", ""
		if r.Err != nil {
			failed++
			status, reason = "FAILED", strings.Join(strings.Fields(r.Err.Error()), " ")
			if errors.Is(r.Err, fuzzserver.ErrNotRun) {
				status = "NOT RUN"
			}
		}
		fmt.Fprintf(stdout, "%-9s %-8s %s\n", r.Case.ID, status, reason)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// waitForAgent polls until agent has an outcome for every case, or timeout
// passes, and returns the outcomes.
func waitForAgent(s *fuzzserver.Server, agent string, timeout time.Duration) []fuzzserver.CaseResult {
	deadline := time.Now().Add(timeout)
	for {
		results := s.Results(agent)
		done := true
		for _, r := range results {
			done = done && !errors.Is(r.Err, fuzzserver.ErrNotRun)
		}
		if done || time.Now().After(deadline) {
			return results
		}
		time.Sleep(100 * time.Millisecond)
	}
}
