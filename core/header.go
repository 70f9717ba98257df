package gws

import (
	"crypto/sha1"
	"encoding/base64"
	"iter"
	"net/http"
	"strings"
)

// acceptGUID is the fixed string RFC 6455 §1.3 appends to the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey returns the Sec-WebSocket-Accept value for a client key.
func acceptKey(key string) string {
	a := acceptValue(key)
	return string(a[:])
}

// acceptValue is acceptKey without a string to allocate, for the server's
// 101 response.
func acceptValue(key string) (accept [28]byte) {
	var in [64]byte
	sum := sha1.Sum(append(append(in[:0], key...), acceptGUID...))
	base64.StdEncoding.Encode(accept[:], sum[:])
	return accept
}

// headerTokens yields the comma-separated tokens of every value of header
// name, trimmed of white space (RFC 7230 §7 lists). A name in canonical form
// ("Sec-Websocket-Protocol") is looked up without allocating.
func headerTokens(h http.Header, name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, v := range h.Values(name) {
			for v != "" {
				var t string
				t, v, _ = strings.Cut(v, ",")
				if !yield(strings.TrimSpace(t)) {
					return
				}
			}
		}
	}
}

// headerHasToken reports whether header name lists token, compared
// case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for t := range headerTokens(h, name) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

// validHeaderField refuses names and values that would let configuration
// inject lines into a request or response.
func validHeaderField(name string, values []string) bool {
	if name == "" || strings.ContainsAny(name, "\r\n: \t") {
		return false
	}
	for _, v := range values {
		if strings.ContainsAny(v, "\r\n") {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 7230 token, as subprotocol names must
// be (RFC 6455 §4.1).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
