package gws

import (
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Negotiation of permessage-deflate (RFC 7692 §5, §7.1): the server's
// answer to an offer, the client's offer and its check of the answer. The
// codec itself is in deflate.go.

const extensionName = "permessage-deflate"

// deflateParams is a negotiated permessage-deflate agreement, seen from gws:
// "own" is what gws sends, "peer" what it receives.
type deflateParams struct {
	ownNoContext  bool // gws compresses each message alone
	peerNoContext bool // the peer compresses each message alone
	ownWindowBits int  // 8–15: the window gws may refer back into
	peerWindow    int  // 8–15: the window the peer may refer back into
}

// extensionParam is one parameter of an extension offer.
type extensionParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions splits Sec-WebSocket-Extensions values into offers: an
// extension name and its parameters (RFC 6455 §9.1, RFC 7692 §5). Values
// may be quoted.
func parseExtensions(h http.Header) [][]extensionParam {
	var offers [][]extensionParam
	for ext := range headerTokens(h, "Sec-Websocket-Extensions") {
		var offer []extensionParam
		for part := range strings.SplitSeq(ext, ";") {
			name, value, has := strings.Cut(strings.TrimSpace(part), "=")
			value = strings.Trim(strings.TrimSpace(value), `"`)
			offer = append(offer, extensionParam{strings.TrimSpace(name), value, has})
		}
		offers = append(offers, offer)
	}
	return offers
}

// windowBits parses a *_max_window_bits value: "a decimal integer value
// without leading zeroes between 8 to 15" (RFC 7692 §7.1.2.1).
func windowBits(v string) (int, bool) {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, _ := strconv.Atoi(v)
	return n, n >= 8 && n <= 15
}

// pmdParams are the parameters of one permessage-deflate offer or answer
// as written (RFC 7692 §7.1); window sizes are 0 when absent.
type pmdParams struct {
	serverNoContext, clientNoContext bool
	serverBits, clientBits           int
	clientBitsBare                   bool // client_max_window_bits without a value
}

// errPMDParam reports an unknown, repeated or malformed parameter.
var errPMDParam = errors.New("gws: bad permessage-deflate parameter")

// parsePMD reads the parameters of one permessage-deflate element.
func parsePMD(params []extensionParam) (pmdParams, error) {
	var p pmdParams
	seen := make(map[string]bool, len(params))
	for _, prm := range params {
		if seen[prm.name] {
			return p, fmt.Errorf("%w: parameter %s repeated", errPMDParam, prm.name)
		}
		seen[prm.name] = true
		ok := true
		switch prm.name {
		case "server_no_context_takeover":
			ok = !prm.hasValue
			p.serverNoContext = true
		case "client_no_context_takeover":
			ok = !prm.hasValue
			p.clientNoContext = true
		case "server_max_window_bits":
			p.serverBits, ok = windowBits(prm.value)
		case "client_max_window_bits":
			if p.clientBitsBare = !prm.hasValue; prm.hasValue {
				p.clientBits, ok = windowBits(prm.value)
			}
		default:
			ok = false
		}
		if !ok {
			return p, fmt.Errorf("%w: parameter %q not valid", errPMDParam, prm.name+"="+prm.value)
		}
	}
	return p, nil
}

// negotiateDeflate picks the first permessage-deflate offer gws can accept
// and returns the agreement and the response value. An offer with an
// unknown, repeated or out-of-range parameter is declined, never an error
// (RFC 7692 §5).
func negotiateDeflate(h http.Header, cfg *config) (deflateParams, string, bool) {
	for _, offer := range parseExtensions(h) {
		if offer[0].name != extensionName || offer[0].hasValue {
			continue
		}
		pp, err := parsePMD(offer[1:])
		if err != nil {
			continue
		}
		p := deflateParams{
			ownNoContext:  pp.serverNoContext || !cfg.serverTakeover,
			peerNoContext: pp.clientNoContext || !cfg.clientTakeover,
			ownWindowBits: cmp.Or(pp.serverBits, 15),
			peerWindow:    cmp.Or(pp.clientBits, 15),
		}
		answer := extensionName
		if p.ownNoContext {
			answer += "; server_no_context_takeover"
		}
		if p.peerNoContext {
			answer += "; client_no_context_takeover"
		}
		if pp.serverBits != 0 {
			answer += "; server_max_window_bits=" + strconv.Itoa(p.ownWindowBits)
		}
		if pp.clientBits != 0 && pp.clientBits < 15 {
			// Only ever answered when offered (RFC 7692 §7.1.2.2).
			answer += "; client_max_window_bits=" + strconv.Itoa(p.peerWindow)
		}
		return p, answer, true
	}
	return deflateParams{}, "", false
}

// peerHistory is how much of the peer's past output to keep for
// inflating its next message with context takeover: its window, but at
// least 2^9 bytes, because zlib, asked for an 8-bit window, uses 9 bits.
// deflateConn is a connection's permessage-deflate state: the agreement,
// and what context takeover keeps. It is made only for connections that
// negotiated compression, so that the others do not carry its fields.
type deflateConn struct {
	deflateParams
	window *[]byte     // the peer's history, kept with its context takeover
	own    *compressor // gws's own writer, kept with its context takeover; guarded by Conn.wmu
}

func (p *deflateParams) peerHistory() int { return 1 << max(p.peerWindow, 9) }

// level returns the flate level gws compresses with under p.
func (p *deflateParams) level(cfg *config) int {
	if p.ownWindowBits < 15 {
		return flate.HuffmanOnly
	}
	return cfg.compressLevel
}

// deflateOffer returns the client's permessage-deflate offer (RFC 7692
// §7.1). Like browsers, it always offers client_max_window_bits, which lets
// the server pick any window for the client, down to 8 bits: gws answers a
// window under 15 bits with flate.HuffmanOnly, valid for any window.
func deflateOffer(cfg *config) string {
	offer := extensionName + "; client_max_window_bits"
	if !cfg.clientTakeover {
		// Not required (a sender may always drop its context), but it tells
		// the server it need not keep a window for this client.
		offer += "; client_no_context_takeover"
	}
	if !cfg.serverTakeover {
		offer += "; server_no_context_takeover"
	}
	return offer
}

// acceptDeflate reads the server's permessage-deflate response against the
// client's offer. It returns nil when the server declined compression, and
// an error when the response is not one the offer allows (RFC 7692 §5,
// §7.1): another extension, two agreements, an unknown, repeated or
// malformed parameter. A server that ignores the offer's
// server_no_context_takeover, against RFC 7692 §7.1.1.1, is still accepted:
// its messages are inflated with its history, as it asks.
func acceptDeflate(h http.Header, cfg *config) (*deflateParams, error) {
	var agreed *deflateParams
	for _, ext := range parseExtensions(h) {
		if len(ext) == 1 && ext[0].name == "" {
			continue
		}
		if !cfg.compress || ext[0].name != extensionName || ext[0].hasValue {
			return nil, fmt.Errorf("server chose extension %q, which was not offered", ext[0].name)
		}
		if agreed != nil {
			return nil, fmt.Errorf("server agreed to %s twice", extensionName)
		}
		pp, err := parsePMD(ext[1:])
		if err == nil && pp.clientBitsBare {
			err = fmt.Errorf("%w: parameter client_max_window_bits not valid in a response without a value", errPMDParam)
		}
		if err != nil {
			return nil, fmt.Errorf("server's %s response: %w", extensionName, err)
		}
		p := deflateParams{
			ownNoContext:  pp.clientNoContext || !cfg.clientTakeover,
			peerNoContext: pp.serverNoContext,
			ownWindowBits: cmp.Or(pp.clientBits, 15),
			peerWindow:    cmp.Or(pp.serverBits, 15),
		}
		// zlib compresses with a 9-bit window when asked for 8, so a server
		// built on it that agreed to 8 may refer back 512 bytes. A larger
		// history than needed costs little and decodes the same.
		p.peerWindow = max(p.peerWindow, 9)
		agreed = &p
	}
	return agreed, nil
}
