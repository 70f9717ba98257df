package gws

import (
	"cmp"
	"fmt"
	"net/http"
)

// deflateOffer returns the client's permessage-deflate offer (RFC 7692
// §7.1). Like browsers, it always offers client_max_window_bits, which lets
// the server pick any window for the client, down to 8 bits: gws answers a
// window under 15 bits with flate.HuffmanOnly, valid for any window.
func (o *ClientOptions) deflateOffer() string {
	offer := extensionName + "; client_max_window_bits"
	if !o.ClientContextTakeover {
		// Not required (a sender may always drop its context), but it tells
		// the server it need not keep a window for this client.
		offer += "; client_no_context_takeover"
	}
	if o.ServerNoContextTakeover {
		offer += "; server_no_context_takeover"
	}
	return offer
}

// acceptDeflate reads the server's permessage-deflate response against the
// client's offer. It returns nil when the server declined compression, and
// an error when the response is not one the offer allows (RFC 7692 §5,
// §7.1): another extension, two agreements, an unknown, repeated or
// malformed parameter, or server_no_context_takeover refused.
func acceptDeflate(h http.Header, o *ClientOptions) (*deflateParams, error) {
	var agreed *deflateParams
	for _, ext := range parseExtensions(h) {
		if len(ext) == 1 && ext[0].name == "" {
			continue
		}
		if !o.CompressEnabled || ext[0].name != extensionName || ext[0].hasValue {
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
			ownNoContext:  pp.clientNoContext || !o.ClientContextTakeover,
			peerNoContext: pp.serverNoContext,
			ownWindowBits: cmp.Or(pp.clientBits, 15),
			peerWindow:    cmp.Or(pp.serverBits, 15),
		}
		if o.ServerNoContextTakeover && !p.peerNoContext {
			return nil, fmt.Errorf("server refused server_no_context_takeover")
		}
		// zlib compresses with a 9-bit window when asked for 8, so a server
		// built on it that agreed to 8 may refer back 512 bytes. A larger
		// history than needed costs little and decodes the same.
		p.peerWindow = max(p.peerWindow, 9)
		agreed = &p
	}
	return agreed, nil
}
