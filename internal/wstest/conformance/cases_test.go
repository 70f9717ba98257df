package conformance

import (
	"testing"
	"unicode/utf8"
)

// TestCaseCatalogue checks the numbering against Autobahn's: every ID
// once, and as many cases per section as Autobahn has.
func TestCaseCatalogue(t *testing.T) {
	// Section 13 is Autobahn's 126 cases (13.1–13.7) and the driver's own
	// 67 (13.8–13.12).
	want := map[int]int{1: 16, 2: 11, 3: 7, 4: 10, 5: 20, 6: 145, 7: 37, 10: 1, 12: 90, 13: 193}
	got := map[int]int{}
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.ID] {
			t.Errorf("case %s twice", c.ID)
		}
		seen[c.ID] = true
		if c.Desc == "" || c.Expect == "" || c.run == nil {
			t.Errorf("case %s incomplete", c.ID)
		}
		got[c.Section()]++
	}
	for s, n := range want {
		if got[s] != n {
			t.Errorf("section %d: %d cases, want %d", s, got[s], n)
		}
	}
	for _, id := range []string{"6.6.11", "6.12.8", "6.22.34", "6.23.7", "7.7.13", "7.9.9", "7.13.2", "12.5.18", "13.7.18", "13.10.18", "13.11.9", "13.12.4"} {
		if !seen[id] {
			t.Errorf("no case %s", id)
		}
	}
	if n := len(Cases(6, 10)); n != want[6]+want[10] {
		t.Errorf("Cases(6, 10) returned %d cases, want %d", n, want[6]+want[10])
	}
}

// TestUTF8TableValidity guards the hand-written table of cases 6.5–6.23
// against typos: each sequence must be as valid as it is marked.
func TestUTF8TableValidity(t *testing.T) {
	for i, g := range utf8Table() {
		for j, s := range g.seqs {
			if utf8.ValidString(s.payload) != s.valid {
				t.Errorf("6.%d.%d (0x%x) marked valid=%v", i+5, j+1, s.payload, s.valid)
			}
		}
	}
}
