package conformance

import (
	"fmt"
	"strings"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// pingCases are Autobahn's section 2: pings must be answered with pongs
// carrying the same payload, unsolicited pongs ignored, and control frames
// longer than 125 bytes rejected.
func pingCases() []Case {
	const binary = "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
	big := strings.Repeat("\xfe", 125)
	tenPings := func(chop int) func(s *session) error {
		return func(s *session) error {
			var pings []rawclient.Frame
			var pongs []event
			for i := range 10 {
				p := fmt.Sprintf("payload-%d", i)
				pings = append(pings, frame(rawclient.OpPing, true, p))
				pongs = append(pongs, pongOf(p))
			}
			s.sendChopped(chop, pings...)
			return s.expectEcho(pongs...)
		}
	}
	return []Case{
		pingCase("2.1", "Send ping without payload.", "", 0),
		pingCase("2.2", "Send ping with small text payload.", "Hello, world!", 0),
		pingCase("2.3", "Send ping with small binary (non UTF-8) payload.", binary, 0),
		pingCase("2.4", "Send ping with binary payload of 125 octets.", big, 0),
		{
			ID:     "2.5",
			Desc:   "Send ping with binary payload of 126 octets.",
			Expect: "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets.",
			run: func(s *session) error {
				s.send(frame(rawclient.OpPing, true, big+"\xfe"))
				return s.expectFail(closeProtocolError)
			},
		},
		pingCase("2.6", "Send ping with binary payload of 125 octets, send in octet-wise chops.", big, 1),
		{
			ID:     "2.7",
			Desc:   "Send unsolicited pong without payload. Verify nothing is received.",
			Expect: "Nothing received. Clean close with normal code.",
			run: func(s *session) error {
				s.send(frame(rawclient.OpPong, true, ""))
				return s.closeNormally()
			},
		},
		{
			ID:     "2.8",
			Desc:   "Send unsolicited pong with payload. Verify nothing is received.",
			Expect: "Nothing received. Clean close with normal code.",
			run: func(s *session) error {
				s.send(frame(rawclient.OpPong, true, "unsolicited pong payload"))
				return s.closeNormally()
			},
		},
		{
			ID:     "2.9",
			Desc:   "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
			Expect: "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
			run: func(s *session) error {
				s.send(frame(rawclient.OpPong, true, "unsolicited pong payload"), frame(rawclient.OpPing, true, "ping payload"))
				return s.expectEcho(pongOf("ping payload"))
			},
		},
		{
			ID:     "2.10",
			Desc:   "Send 10 Pings with payload.",
			Expect: "Pongs for our Pings with all the payloads, in order. Clean close with normal code.",
			run:    tenPings(0),
		},
		{
			ID:     "2.11",
			Desc:   "Send 10 Pings with payload. Send out octets in octet-wise chops.",
			Expect: "Pongs for our Pings with all the payloads, in order. Clean close with normal code.",
			run:    tenPings(1),
		},
	}
}

// pingCase sends one ping, in pieces of chop bytes unless chop is 0, and
// expects its pong.
func pingCase(id, desc, payload string, chop int) Case {
	return Case{
		ID:     id,
		Desc:   desc,
		Expect: "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.",
		run: func(s *session) error {
			s.sendChopped(chop, frame(rawclient.OpPing, true, payload))
			return s.expectEcho(pongOf(payload))
		},
	}
}
