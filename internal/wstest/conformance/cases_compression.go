package conformance

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// deflateSizes are the message sizes of every subsection of sections 12
// and 13, and the size of the frames the client cuts each compressed
// message into (0: one frame), in Autobahn's order.
var deflateSizes = []struct{ size, frag int }{
	{16, 0}, {64, 0}, {256, 0}, {1024, 0}, {4096, 0}, {8192, 0}, {16384, 0}, {32768, 0}, {65536, 0}, {131072, 0},
	{8192, 256}, {16384, 256}, {32768, 256}, {65536, 256}, {131072, 256}, {131072, 1024}, {131072, 4096}, {131072, 32768},
}

// autobahnMessages is how many messages Autobahn sends in each case of
// sections 12 and 13.
const autobahnMessages = 1000

// messageBudget bounds the bytes a case of sections 12 and 13 sends. Sent
// 1000 times, as Autobahn does, the sizes above come to about 11 GB, and
// the sections would take many minutes even on loopback; capping each
// case's total keeps the small sizes at 1000 messages (their cost is in
// round trips, not bytes) and cuts the large ones down, never below
// minMessages, so that every case still carries context from message to
// message.
const (
	messageBudget = 32 << 10
	minMessages   = 2
)

// messagesFor is how many messages of size bytes a case sends.
func messagesFor(size int) int {
	return max(minMessages, min(autobahnMessages, messageBudget/size))
}

// autobahnOffer is the offer Autobahn's client makes by default: it lets
// the server forbid it context takeover or narrow its window.
const autobahnOffer = "permessage-deflate; client_no_context_takeover; client_max_window_bits"

// compressionCases are Autobahn's section 12: messages of every size,
// from each of the five corpora, compressed under the default offer, must
// come back as sent.
func compressionCases() []Case {
	var cs []Case
	for j, c := range corpora {
		for i, sz := range deflateSizes {
			id := fmt.Sprintf("12.%d.%d", j+1, i+1)
			cs = append(cs, deflateEchoCase(id, c, sz.size, sz.frag, []string{autobahnOffer}, "the default offer"))
		}
	}
	return cs
}

// offerGroup is one subsection of section 13: the header lines offered.
type offerGroup struct {
	offers []string
	// note says how the group differs from Autobahn's, empty for
	// Autobahn's own.
	note string
}

// offerGroups are the subsections 13.1–13.10: Autobahn's seven, then
// three of the driver's own that Autobahn's offers leave out: a bare offer
// (both sides may keep their context), a window of 9 bits, and a client
// that limits its own window.
func offerGroups() []offerGroup {
	const b = autobahnOffer
	return []offerGroup{
		{offers: []string{b}},
		{offers: []string{b + "; server_no_context_takeover"}},
		{offers: []string{b + "; server_max_window_bits=8"}},
		{offers: []string{b + "; server_max_window_bits=15"}},
		{offers: []string{b + "; server_no_context_takeover; server_max_window_bits=8"}},
		{offers: []string{b + "; server_no_context_takeover; server_max_window_bits=15"}},
		{offers: []string{b + "; server_no_context_takeover; server_max_window_bits=8, " + b + "; server_no_context_takeover, " + b}},
		{offers: []string{permessageDeflate}, note: "not in Autobahn: a bare offer, so the client keeps its context unless the server forbids it"},
		{offers: []string{permessageDeflate + "; server_max_window_bits=9"}, note: "not in Autobahn: a 512-byte server window"},
		{offers: []string{permessageDeflate + "; client_max_window_bits=9"}, note: "not in Autobahn: the client promises a 512-byte window of its own"},
	}
}

// negotiationCases are section 13: JSON messages of every size under each
// offer of offerGroups, then (13.11, 13.12, the driver's own) offers a
// server must decline and headers whose first acceptable offer is not
// their first.
func negotiationCases() []Case {
	var cs []Case
	for j, g := range offerGroups() {
		how := fmt.Sprintf("Sec-WebSocket-Extensions: %s", strings.Join(g.offers, " / "))
		if g.note != "" {
			how += " (" + g.note + ")"
		}
		for i, sz := range deflateSizes {
			id := fmt.Sprintf("13.%d.%d", j+1, i+1)
			cs = append(cs, deflateEchoCase(id, jsonCorpus, sz.size, sz.frag, g.offers, how))
		}
	}
	for i, offer := range []string{
		permessageDeflate + "; server_max_window_bits=7",
		permessageDeflate + "; server_max_window_bits=16",
		permessageDeflate + "; server_max_window_bits",
		permessageDeflate + "; server_max_window_bits=09",
		permessageDeflate + "; client_max_window_bits=16",
		permessageDeflate + "; server_no_context_takeover=1",
		permessageDeflate + "; client_no_context_takeover; client_no_context_takeover",
		permessageDeflate + "; mystery_parameter",
		"x-gws-unknown-extension; level=3",
	} {
		cs = append(cs, declineCase(fmt.Sprintf("13.11.%d", i+1), offer))
	}
	for i, offers := range [][]string{
		{permessageDeflate + "; server_max_window_bits=7, " + permessageDeflate + "; client_max_window_bits"},
		{permessageDeflate + "; mystery_parameter=1", permessageDeflate + "; server_no_context_takeover"},
		{"x-gws-unknown-extension, " + permessageDeflate + "; client_no_context_takeover"},
		{permessageDeflate + `; server_max_window_bits="10"; client_max_window_bits`},
	} {
		how := fmt.Sprintf("Sec-WebSocket-Extensions: %s (not in Autobahn: the server must skip what it cannot accept and accept the first offer it can)", strings.Join(offers, " / "))
		cs = append(cs, deflateEchoCase(fmt.Sprintf("13.12.%d", i+1), jsonCorpus, 4096, 0, offers, how))
	}
	return cs
}

// deflateEchoCase sends messages of size bytes from c one at a time,
// compressed and cut into frames of frag bytes, and expects each echoed
// before the next, under the agreement the offers lead to.
func deflateEchoCase(id string, c *corpus, size, frag int, offers []string, how string) Case {
	n := messagesFor(size)
	fragDesc := "unfragmented"
	if frag > 0 {
		fragDesc = fmt.Sprintf("auto-fragmented into frames of %d octets", frag)
	}
	return Case{
		ID: id,
		Desc: fmt.Sprintf("Send %d compressed messages (Autobahn: %d) of %d bytes each, %s, taken in turn from %v. Offer %s.",
			n, autobahnMessages, size, fragDesc, c, how),
		Expect: "The server's answer accepts one offer as RFC 7692 allows; every message is echoed back as sent, " +
			"compressed or not, within the agreed window and context takeover. Clean close with normal code.",
		offers: offers,
		run: func(s *session) error {
			if s.deflate == nil {
				return errDeclined
			}
			src := corpusReader{c: c}
			for i := range n {
				p := src.next(size)
				s.sendMessage(c.opcode(), p, frag)
				if err := s.expect(event{kind: evMessage, op: c.opcode(), payload: p}); err != nil {
					return fmt.Errorf("message %d of %d: %w", i+1, n, err)
				}
			}
			return s.closeNormally()
		},
	}
}

// declineCase offers what RFC 7692, section 5 says a server must decline,
// then checks that the connection works without compression.
func declineCase(id, offer string) Case {
	return Case{
		ID:     id,
		Desc:   fmt.Sprintf("Offer Sec-WebSocket-Extensions: %s (not in Autobahn), then send an uncompressed text message.", offer),
		Expect: "The server declines the offer: it answers the handshake without Sec-WebSocket-Extensions and echoes the message uncompressed. Clean close with normal code.",
		offers: []string{offer},
		run: func(s *session) error {
			if s.deflate != nil {
				return errors.New("server accepted an offer it must decline")
			}
			p := jsonCorpus.bytes()[:1024]
			s.sendMessage(rawclient.OpText, p, 0)
			return s.expectEcho(event{kind: evMessage, op: rawclient.OpText, payload: p})
		},
	}
}

// sendMessage sends one message, compressed when an extension was agreed,
// in frames of frag bytes of wire payload (one frame if frag is 0), with
// RSV1 on the first frame only.
func (s *session) sendMessage(op rawclient.Opcode, p []byte, frag int) {
	wire, rsv := p, uint8(0)
	if s.deflate != nil {
		wire, rsv = s.deflate.compress(p), rawclient.RSV1
	}
	if frag <= 0 {
		frag = len(wire)
	}
	var fs []rawclient.Frame
	for off := 0; off == 0 || off < len(wire); off += frag {
		end := min(off+frag, len(wire))
		fs = append(fs, rawclient.Frame{Fin: end == len(wire), Rsv: rsv, Opcode: op, Payload: wire[off:end]})
		op, rsv = rawclient.OpContinuation, 0
	}
	s.send(fs...)
}
