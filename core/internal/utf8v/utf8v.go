// Package utf8v validates UTF-8 that arrives in pieces.
//
// A WebSocket text message may be split across frames at any byte, even in
// the middle of a character, and RFC 6455 §8.1 wants the connection failed as
// soon as the bytes so far cannot start valid UTF-8. Validator keeps the few
// bytes of a character cut by a frame boundary and checks every piece as it
// comes, so a bad first fragment is caught before the rest is read.
package utf8v

import "unicode/utf8"

// Validator checks a stream of UTF-8 written to it in pieces. Its zero value
// is ready to use.
type Validator struct {
	pend [utf8.UTFMax]byte // start of a character cut by the end of a piece
	n    int
}

// Reset forgets any pending partial character.
func (v *Validator) Reset() { v.n = 0 }

// Complete reports whether the stream so far ends on a character boundary.
// Call it at the end of a message: a pending partial character there is
// invalid.
func (v *Validator) Complete() bool { return v.n == 0 }

// Write reports whether p, appended to what came before, can still be valid
// UTF-8. It returns false as soon as it sees a byte that no valid encoding
// could continue with, including an incomplete character at the end of p
// whose bytes so far are already impossible.
func (v *Validator) Write(p []byte) bool {
	if v.n > 0 {
		need := seqLen(v.pend[0])
		for v.n < need && len(p) > 0 {
			v.pend[v.n] = p[0]
			v.n++
			p = p[1:]
		}
		if v.n < need {
			return validPrefix(v.pend[:v.n])
		}
		if !utf8.FullRune(v.pend[:v.n]) || !utf8.Valid(v.pend[:v.n]) {
			return false
		}
		v.n = 0
	}
	// Split off a trailing partial character: at most UTFMax-1 bytes after
	// the last lead byte.
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		c := p[i]
		if c < 0x80 {
			break
		}
		if c >= 0xC0 {
			if i+seqLen(c) > len(p) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(p[:cut]) {
		return false
	}
	tail := p[cut:]
	if len(tail) == 0 {
		return true
	}
	if !validPrefix(tail) {
		return false
	}
	v.n = copy(v.pend[:], tail)
	return true
}

// seqLen returns the length of the encoding that lead byte c starts, or 1
// for a byte that cannot start one (which then fails validation).
func seqLen(c byte) int {
	switch {
	case c >= 0xC2 && c <= 0xDF:
		return 2
	case c >= 0xE0 && c <= 0xEF:
		return 3
	case c >= 0xF0 && c <= 0xF4:
		return 4
	}
	return 1
}

// validPrefix reports whether b, shorter than a whole character, can be
// completed into a valid one. The second byte's range depends on the lead
// byte (RFC 3629 §4): that is where overlong forms, surrogates and code
// points above U+10FFFF are excluded.
func validPrefix(b []byte) bool {
	lead := b[0]
	if seqLen(lead) <= len(b) || seqLen(lead) == 1 {
		return false
	}
	for i := 1; i < len(b); i++ {
		lo, hi := byte(0x80), byte(0xBF)
		if i == 1 {
			switch lead {
			case 0xE0:
				lo = 0xA0
			case 0xED:
				hi = 0x9F
			case 0xF0:
				lo = 0x90
			case 0xF4:
				hi = 0x8F
			}
		}
		if b[i] < lo || b[i] > hi {
			return false
		}
	}
	return true
}
