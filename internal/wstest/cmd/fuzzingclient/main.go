// Command fuzzingclient runs the cases of package conformance against a
// WebSocket echo server started separately, as Autobahn's fuzzingclient
// does:
//
//	go run ./examples/echo -addr 127.0.0.1:9001 -compress &
//	go run ./internal/wstest/cmd/fuzzingclient -addr 127.0.0.1:9001
//
// It prints a line per case (its ID, OK, NON-STRICT or FAILED, and what
// the server did wrong), then "N passed, M failed", and exits with status
// 1 if any case failed (NON-STRICT counts as failed) and 2 on bad usage.
//
// -cases selects what to run, as a comma-separated list of sections
// ("12"), ranges of sections ("1-7") and case IDs or their prefixes
// ("6.4", "12.2.10"); the default is every section. Sections 12 and 13
// need a server that accepts permessage-deflate: leave them out for one
// that does not ("-cases 1-7,10").
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/gwsgo/gws/internal/wstest/conformance"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command with its arguments and outputs, returning the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fuzzingclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9001", "host:port of the echo server under test")
	path := fs.String("path", "/", "request path of the WebSocket endpoint")
	spec := fs.String("cases", "1-7,10,12,13", "sections, ranges of sections and case ID prefixes to run, comma-separated")
	parallel := fs.Int("parallel", conformance.Parallel, "cases run at once, each on its own connection")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fuzzingclient: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cases, err := selectCases(*spec)
	if err != nil {
		fmt.Fprintf(stderr, "fuzzingclient: -cases: %v\n", err)
		return 2
	}
	errs := checkAll(cases, *addr, *path, max(1, *parallel))
	failed := 0
	for i, c := range cases {
		status, reason := "OK", ""
		if err := errs[i]; err != nil {
			failed++
			status, reason = "FAILED", oneLine(err.Error())
			if errors.Is(err, conformance.ErrNonStrict) {
				status = "NON-STRICT"
			}
		}
		fmt.Fprintf(stdout, "%-9s %-10s %s\n", c.ID, status, reason)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(cases)-failed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// checkAll runs the cases, parallel at a time, and returns their outcomes
// in the cases' order.
func checkAll(cases []conformance.Case, addr, path string, parallel int) []error {
	errs := make([]error, len(cases))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, c := range cases {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = c.Check(addr, path)
		})
	}
	wg.Wait()
	return errs
}

// selectCases returns the cases the -cases value names, in Autobahn's
// order, each once.
func selectCases(spec string) ([]conformance.Case, error) {
	var sections []int
	var prefixes []string
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if lo, hi, isRange := strings.Cut(item, "-"); isRange {
			a, errA := strconv.Atoi(lo)
			b, errB := strconv.Atoi(hi)
			if errA != nil || errB != nil || a > b {
				return nil, fmt.Errorf("%q is no range of sections such as 1-7", item)
			}
			for s := a; s <= b; s++ {
				sections = append(sections, s)
			}
			continue
		}
		if n, err := strconv.Atoi(item); err == nil {
			sections = append(sections, n)
			continue
		}
		if item == "" || strings.Trim(item, "0123456789.") != "" {
			return nil, fmt.Errorf("%q is no section, range of sections or case ID", item)
		}
		prefixes = append(prefixes, item)
	}
	var picked []conformance.Case
	matched := map[string]bool{}
	for _, c := range conformance.Cases() {
		take := false
		for _, s := range sections {
			take = take || c.Section() == s
		}
		for _, p := range prefixes {
			if c.ID == p || strings.HasPrefix(c.ID, p+".") {
				take, matched[p] = true, true
			}
		}
		if take {
			picked = append(picked, c)
		}
	}
	for _, p := range prefixes {
		if !matched[p] {
			return nil, fmt.Errorf("no case %s", p)
		}
	}
	if len(picked) == 0 {
		return nil, fmt.Errorf("%q selects no case", spec)
	}
	return picked, nil
}

// oneLine keeps a case's reason on its line.
func oneLine(s string) string {
	return strings.ReplaceAll(s, "\n", " ")
}
