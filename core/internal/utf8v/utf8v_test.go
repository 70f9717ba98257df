package utf8v

import (
	"testing"
	"unicode/utf8"
)

// feed writes b to a fresh Validator in pieces cut at the given points and
// reports whether it accepted the whole stream and at which piece it failed.
func feed(b []byte, cuts []int) (ok bool, failedAt int) {
	var v Validator
	prev := 0
	for i, c := range append(cuts, len(b)) {
		if c < prev || c > len(b) {
			continue
		}
		if !v.Write(b[prev:c]) {
			return false, i
		}
		prev = c
	}
	return v.Complete(), -1
}

func TestAgreesWithUnicodeUTF8(t *testing.T) {
	cases := []string{
		"", "hello", "κόσμε", "\u00e9\u4e16\U0001F600", "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf",
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
		"\x80", "\xbf", "\xc2", "\xe2\x82", "\xf0\x9f\x98", "κόσμε\xed\xa0\x80edited", "a\xffb",
	}
	for _, s := range cases {
		b := []byte(s)
		for cut := 0; cut <= len(b); cut++ {
			for cut2 := cut; cut2 <= len(b); cut2++ {
				ok, _ := feed(b, []int{cut, cut2})
				if ok != utf8.Valid(b) {
					t.Fatalf("%q cut at %d,%d: validator %v, utf8.Valid %v", s, cut, cut2, ok, utf8.Valid(b))
				}
			}
		}
	}
}

// TestFailsFast checks that a piece which no continuation could make valid
// is refused at once, not at the end of the message.
func TestFailsFast(t *testing.T) {
	cases := []struct {
		first, second string
	}{
		{"κόσμε", "\xed\xa0\x80"},       // surrogate in the second piece
		{"abc\xce", "\xff"},             // a character cut by the boundary, then a bad byte
		{"abc\xed", "\xa0"},             // surrogate split after its lead byte
		{"\xf4", "\x90"},                // above U+10FFFF split after its lead byte
		{"\xe0", "\x80"},                // overlong split after its lead byte
		{"ok", "\xf5more text follows"}, // a byte that never starts a character
	}
	for _, c := range cases {
		var v Validator
		if !v.Write([]byte(c.first)) {
			t.Fatalf("%q refused, but it can still start valid UTF-8", c.first)
		}
		if v.Write([]byte(c.second)) {
			t.Fatalf("%q then %q accepted, want refusal at the second piece", c.first, c.second)
		}
	}
	var v Validator
	if v.Write([]byte("\xed\xa0")) {
		t.Fatal("partial surrogate accepted")
	}
}

func TestIncompleteAtEnd(t *testing.T) {
	var v Validator
	if !v.Write([]byte("ab\xe2\x82")) || v.Complete() {
		t.Fatal("a valid prefix ending inside a character must be pending, not complete")
	}
	if !v.Write([]byte("\xac")) || !v.Complete() {
		t.Fatal("completing the character must leave the validator complete")
	}
}

// FuzzValidator checks the incremental validator against unicode/utf8 for
// any input cut at any two points, and that a refusal is never wrong.
func FuzzValidator(f *testing.F) {
	f.Add([]byte("κόσμε"), 1, 3)
	f.Add([]byte("\xf0\x9f\x98\x80x"), 2, 3)
	f.Add([]byte("\xed\xa0\x80"), 1, 2)
	f.Fuzz(func(t *testing.T, b []byte, c1, c2 int) {
		if c1 < 0 || c2 < 0 {
			return
		}
		ok, _ := feed(b, []int{c1 % (len(b) + 1), c2 % (len(b) + 1)})
		if ok != utf8.Valid(b) {
			t.Fatalf("%q cut at %d,%d: validator %v, utf8.Valid %v", b, c1, c2, ok, utf8.Valid(b))
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	msg := []byte("The quick brown fox jumps over the lazy dog — κόσμε 世界 😀. ")
	for len(msg) < 4096 {
		msg = append(msg, msg...)
	}
	b.SetBytes(int64(len(msg)))
	var v Validator
	for b.Loop() {
		v.Reset()
		v.Write(msg)
	}
}
