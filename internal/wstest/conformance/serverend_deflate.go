package conformance

import (
	"net/http"
	"strconv"
	"strings"
)

// serverAccept is one way the fuzzing server accepts a permessage-deflate
// offer, as Autobahn's fuzzingserver does in sections 12 and 13: what it
// asks of the client on top of what the offer asks of the server.
type serverAccept struct {
	clientNoContext bool // answer client_no_context_takeover
	clientBits      int  // answer client_max_window_bits=N; needs an offer that names it
	serverBits      int  // answer server_max_window_bits=N unasked (not in Autobahn)
}

// acceptPolicy returns how the fuzzing server answers the testee's offers
// in the case id: the ways to accept, tried in order against each offer,
// or none to decline compression. Sections 12 and 13.1–13.7 follow
// Autobahn's fuzzingserver; 13.8–13.10 and 13.12 are the driver's own
// groups, read from the server's end; 13.11, whose offers a server must
// decline, and every other section get no compression.
func acceptPolicy(id string) []serverAccept {
	section, rest, _ := strings.Cut(id, ".")
	sub, _, _ := strings.Cut(rest, ".")
	n, _ := strconv.Atoi(sub)
	switch {
	case section == "12":
		return []serverAccept{{}}
	case section != "13":
		return nil
	}
	switch n {
	case 1, 8, 12:
		return []serverAccept{{}}
	case 2:
		return []serverAccept{{clientNoContext: true}}
	case 3:
		return []serverAccept{{clientBits: 8}}
	case 4:
		return []serverAccept{{clientBits: 15}}
	case 5:
		return []serverAccept{{clientNoContext: true, clientBits: 8}}
	case 6:
		return []serverAccept{{clientNoContext: true, clientBits: 15}}
	case 7:
		return []serverAccept{{clientNoContext: true, clientBits: 8}, {clientNoContext: true}, {}}
	case 9:
		return []serverAccept{{serverBits: 9}}
	case 10:
		return []serverAccept{{clientBits: 9}}
	}
	return nil
}

// acceptDeflate answers the testee's Sec-WebSocket-Extensions offers under
// policy. It returns the answer's header value and the agreement from the
// cases' point of view, in which the fuzzing server is the "client" (the
// cases are written for that end) and the testee the "server"; nil when
// it declines. An offer the server cannot read is skipped, as RFC 7692,
// section 5 asks.
func acceptDeflate(h http.Header, policy []serverAccept) (string, *agreement) {
	if len(policy) == 0 {
		return "", nil
	}
	exts, err := parseExtensions(h.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return "", nil
	}
	var offers []deflateParams
	for _, e := range exts {
		if e.name != permessageDeflate {
			continue
		}
		if o, err := readDeflate(e, false); err == nil {
			offers = append(offers, o)
		}
	}
	for _, p := range policy {
		for _, o := range offers {
			if p.clientBits > 0 && !o.clientBitsNamed {
				continue
			}
			return answerOffer(o, p)
		}
	}
	return "", nil
}

// answerOffer accepts offer o in the way p says.
func answerOffer(o deflateParams, p serverAccept) (string, *agreement) {
	ans := deflateParams{
		serverNoContext: o.serverNoContext,
		clientNoContext: p.clientNoContext,
		serverBits:      o.serverBits,
		clientBits:      p.clientBits,
	}
	if p.serverBits > 0 && (ans.serverBits == 0 || p.serverBits < ans.serverBits) {
		ans.serverBits = p.serverBits
	}
	if o.clientBits > 0 && ans.clientBits > o.clientBits {
		ans.clientBits = o.clientBits
	}
	answer := permessageDeflate
	if ans.serverNoContext {
		answer += "; server_no_context_takeover"
	}
	if ans.clientNoContext {
		answer += "; client_no_context_takeover"
	}
	if ans.serverBits > 0 {
		answer += "; server_max_window_bits=" + strconv.Itoa(ans.serverBits)
	}
	if ans.clientBits > 0 {
		answer += "; client_max_window_bits=" + strconv.Itoa(ans.clientBits)
	}
	// The roles swap: the fuzzing server compresses under the server's
	// terms and inflates under the client's, which include what the offer
	// promised (a client_no_context_takeover or window of its own).
	a := &agreement{
		answer:          answer,
		clientNoContext: ans.serverNoContext,
		clientBits:      orFull(ans.serverBits),
		serverNoContext: ans.clientNoContext || o.clientNoContext,
		serverBits:      orFull(ans.clientBits),
	}
	if ans.clientBits == 0 && o.clientBits > 0 {
		a.serverBits = o.clientBits
	}
	return answer, a
}

// orFull returns bits, or 15 (a 32 KiB window) when it is 0 (absent).
func orFull(bits int) int {
	if bits == 0 {
		return 15
	}
	return bits
}
