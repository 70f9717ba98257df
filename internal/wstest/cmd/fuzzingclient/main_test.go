package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/gwsgo/gws/internal/wstest/conformance"
)

func ids(cs []conformance.Case) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestSelectCases(t *testing.T) {
	all := ids(conformance.Cases())
	for spec, want := range map[string][]string{
		"1-7,10,12,13":  all,
		"13,1-7,12,10":  all, // Autobahn's order whatever the spec's
		"10":            {"10.1.1"},
		"6.4":           {"6.4.1", "6.4.2", "6.4.3", "6.4.4"},
		"12.1.1, 1.1.1": {"1.1.1", "12.1.1"},
		"7.1.1,7":       ids(conformance.Cases(7)), // each once
	} {
		got, err := selectCases(spec)
		if err != nil {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		if !slices.Equal(ids(got), want) {
			t.Errorf("%q: %d cases %v…, want %d", spec, len(got), ids(got)[:min(len(got), 5)], len(want))
		}
	}
	for _, spec := range []string{"", "a", "3-1", "1-", "6.4.9", "1.1.1.1"} {
		if _, err := selectCases(spec); err == nil {
			t.Errorf("%q: no error", spec)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if status := run([]string{"-addr", "127.0.0.1:9", "extra"}, &out, &errOut); status != 2 || !strings.Contains(errOut.String(), "extra") {
		t.Errorf("stray argument: status %d, stderr %q", status, errOut.String())
	}
	if status := run([]string{"-nosuchflag"}, &out, &errOut); status != 2 {
		t.Errorf("unknown flag: status %d", status)
	}
}
