package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// permessageDeflate is the extension token of RFC 7692.
const permessageDeflate = "permessage-deflate"

// extension is one element of a Sec-WebSocket-Extensions header: an
// extension name and its parameters (RFC 6455, section 9.1).
type extension struct {
	name   string
	params []extParam
}

type extParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions splits header values into extensions. Parameter values
// may be quoted strings; a comma inside quotes does not end an element.
func parseExtensions(values []string) ([]extension, error) {
	var exts []extension
	for _, v := range values {
		for _, elem := range splitOutsideQuotes(v, ',') {
			if strings.TrimSpace(elem) == "" {
				continue
			}
			parts := splitOutsideQuotes(elem, ';')
			e := extension{name: strings.TrimSpace(parts[0])}
			if !isToken(e.name) {
				return nil, fmt.Errorf("extension name %q is not a token", e.name)
			}
			for _, p := range parts[1:] {
				name, value, has := strings.Cut(p, "=")
				prm := extParam{name: strings.TrimSpace(name), hasValue: has}
				if !isToken(prm.name) {
					return nil, fmt.Errorf("parameter name %q of %s is not a token", prm.name, e.name)
				}
				if has {
					value = strings.TrimSpace(value)
					if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
						value = value[1 : len(value)-1]
					}
					if !isToken(value) {
						return nil, fmt.Errorf("value %q of %s is not a token", value, prm.name)
					}
					prm.value = value
				}
				e.params = append(e.params, prm)
			}
			exts = append(exts, e)
		}
	}
	return exts, nil
}

func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// deflateParams are the parameters of one permessage-deflate offer or
// answer. A window of 0 means the parameter is absent.
type deflateParams struct {
	serverNoContext bool
	clientNoContext bool
	serverBits      int
	clientBits      int
	clientBitsNamed bool // client_max_window_bits present, with or without a value
}

// readDeflate reads a permessage-deflate element by the rules of RFC 7692,
// section 7: known parameters only, none twice, the no-context ones
// without a value, window sizes 8–15 written without leading zeros. In an
// answer both window parameters need a value; in an offer
// client_max_window_bits may stand alone.
func readDeflate(e extension, answer bool) (deflateParams, error) {
	var p deflateParams
	seen := map[string]bool{}
	for _, prm := range e.params {
		if seen[prm.name] {
			return p, fmt.Errorf("%s appears twice", prm.name)
		}
		seen[prm.name] = true
		switch prm.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if prm.hasValue {
				return p, fmt.Errorf("%s has a value, %q; it takes none", prm.name, prm.value)
			}
			if prm.name == "server_no_context_takeover" {
				p.serverNoContext = true
			} else {
				p.clientNoContext = true
			}
		case "server_max_window_bits", "client_max_window_bits":
			client := prm.name == "client_max_window_bits"
			if client {
				p.clientBitsNamed = true
			}
			if !prm.hasValue {
				if client && !answer {
					continue
				}
				return p, fmt.Errorf("%s has no value", prm.name)
			}
			bits, ok := windowBitsValue(prm.value)
			if !ok {
				return p, fmt.Errorf("%s=%s is not a window size from 8 to 15 without leading zeros", prm.name, prm.value)
			}
			if client {
				p.clientBits = bits
			} else {
				p.serverBits = bits
			}
		default:
			return p, fmt.Errorf("unknown parameter %s", prm.name)
		}
	}
	return p, nil
}

func windowBitsValue(v string) (int, bool) {
	switch {
	case len(v) == 1 && v[0] >= '8' && v[0] <= '9':
		return int(v[0] - '0'), true
	case len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5':
		return 10 + int(v[1]-'0'), true
	}
	return 0, false
}

// accepts returns nil if answer is a valid acceptance of offer (RFC 7692,
// sections 7.1.1 and 7.1.2), and otherwise why not.
func (offer deflateParams) accepts(answer deflateParams) error {
	switch {
	case offer.serverNoContext && !answer.serverNoContext:
		return errors.New("the offer asks for server_no_context_takeover, and accepting it means answering with it (RFC 7692, section 7.1.1.1)")
	case offer.serverBits > 0 && answer.serverBits == 0:
		return fmt.Errorf("the offer asks for server_max_window_bits=%d, and accepting it means answering with a value no larger (section 7.1.2.1)", offer.serverBits)
	case offer.serverBits > 0 && answer.serverBits > offer.serverBits:
		return fmt.Errorf("server_max_window_bits=%d is larger than the %d offered (section 7.1.2.1)", answer.serverBits, offer.serverBits)
	case answer.clientBits > 0 && !offer.clientBitsNamed:
		return errors.New("client_max_window_bits answers an offer that did not name it (section 7.1.2.2)")
	case answer.clientBits > 0 && offer.clientBits > 0 && answer.clientBits > offer.clientBits:
		return fmt.Errorf("client_max_window_bits=%d is larger than the %d offered (section 7.1.2.2)", answer.clientBits, offer.clientBits)
	}
	return nil
}

// agreement is what a permessage-deflate answer commits both sides to.
type agreement struct {
	answer string // the server's Sec-WebSocket-Extensions, for messages
	// serverNoContext: each server message inflates on its own.
	serverNoContext bool
	// clientNoContext: the client compresses each message on its own,
	// because the server said so or because the client's offer promised it.
	clientNoContext bool
	serverBits      int // the window the server's messages may refer back into
	clientBits      int // the window the client's messages may refer back into
}

// negotiated checks the server's answer to the offers (values of the
// client's Sec-WebSocket-Extensions header) and returns the agreement, or
// nil if the server declined them all by answering without an extension.
// An answer that is no valid acceptance of any offer is an error: RFC 7692,
// section 5 has the client fail the connection.
func negotiated(offers []string, resp http.Header) (*agreement, error) {
	values := resp.Values("Sec-WebSocket-Extensions")
	answer := strings.Join(values, ", ")
	exts, err := parseExtensions(values)
	if err != nil {
		return nil, fmt.Errorf("server answered Sec-WebSocket-Extensions: %s, which is malformed: %v", answer, err)
	}
	switch {
	case len(exts) == 0:
		return nil, nil
	case len(exts) > 1:
		return nil, fmt.Errorf("server answered Sec-WebSocket-Extensions: %s, %d extensions where at most one permessage-deflate was acceptable", answer, len(exts))
	case exts[0].name != permessageDeflate:
		return nil, fmt.Errorf("server answered Sec-WebSocket-Extensions: %s, selecting an extension other than permessage-deflate", answer)
	}
	if len(offers) == 0 {
		return nil, fmt.Errorf("server answered Sec-WebSocket-Extensions: %s, but the client offered no extension (RFC 6455, section 9.1)", answer)
	}
	ans, err := readDeflate(exts[0], true)
	if err != nil {
		return nil, fmt.Errorf("server answered Sec-WebSocket-Extensions: %s, which is no valid permessage-deflate answer: %v (RFC 7692, section 7)", answer, err)
	}
	offered, err := parseExtensions(offers)
	if err != nil {
		return nil, fmt.Errorf("wstest: the case's own offer is malformed: %v", err)
	}
	// Which offer the server chose cannot be told from the answer alone, so
	// the client keeps to every offer the answer fits: it gives up context
	// takeover or narrows its window if any of them promised to.
	a := &agreement{answer: answer, serverNoContext: ans.serverNoContext, clientNoContext: ans.clientNoContext,
		serverBits: 15, clientBits: 15}
	if ans.serverBits > 0 {
		a.serverBits = ans.serverBits
	}
	if ans.clientBits > 0 {
		a.clientBits = ans.clientBits
	}
	var why []string
	fits := 0
	for _, e := range offered {
		if e.name != permessageDeflate {
			continue
		}
		o, err := readDeflate(e, false)
		if err == nil {
			err = o.accepts(ans)
		} else {
			err = fmt.Errorf("the offer is invalid (%v), so a server must decline it (RFC 7692, section 5)", err)
		}
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		fits++
		a.clientNoContext = a.clientNoContext || o.clientNoContext
		if ans.clientBits == 0 && o.clientBits > 0 {
			a.clientBits = min(a.clientBits, o.clientBits)
		}
	}
	if fits == 0 {
		return nil, fmt.Errorf("server answered Sec-WebSocket-Extensions: %s, which accepts none of the offers %q: %s", answer, offers, strings.Join(why, "; "))
	}
	return a, nil
}

func (a *agreement) String() string {
	return fmt.Sprintf("agreed %q: server window 2^%d bytes, %s; client window 2^%d bytes, %s", a.answer,
		a.serverBits, takeover(!a.serverNoContext), a.clientBits, takeover(!a.clientNoContext))
}

func takeover(on bool) string {
	if on {
		return "context takeover"
	}
	return "no context takeover"
}
