package conformance

import (
	"fmt"
	"strings"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// sendWay is one way of putting frames on the wire, with the words
// Autobahn's descriptions use for it.
type sendWay struct {
	desc string
	send func(*session, ...rawclient.Frame)
}

// fragmentationCases are Autobahn's section 5: fragmented messages must
// be reassembled, pings inside them answered at once, and fragmented
// control frames, continuations with nothing to continue and new messages
// inside unfinished ones must fail the connection with 1002.
func fragmentationCases() []Case {
	const f1, f2 = "fragment1", "fragment2"
	fragmentedText := []rawclient.Frame{frame(rawclient.OpText, false, f1), frame(rawclient.OpContinuation, true, f2)}
	withPing := []rawclient.Frame{frame(rawclient.OpText, false, f1), frame(rawclient.OpPing, true, "ping payload"), frame(rawclient.OpContinuation, true, f2)}
	cs := []Case{
		{
			ID:     "5.1",
			Desc:   "Send Ping fragmented into 2 fragments.",
			Expect: "Connection is failed immediately, since control message MUST NOT be fragmented.",
			run: func(s *session) error {
				s.send(frame(rawclient.OpPing, false, f1), frame(rawclient.OpContinuation, true, f2))
				return s.expectFail(closeProtocolError)
			},
		},
		{
			ID:     "5.2",
			Desc:   "Send Pong fragmented into 2 fragments.",
			Expect: "Connection is failed immediately, since control message MUST NOT be fragmented.",
			run: func(s *session) error {
				s.send(frame(rawclient.OpPong, false, f1), frame(rawclient.OpContinuation, true, f2))
				return s.expectFail(closeProtocolError)
			},
		},
	}
	for i, way := range []sendWay{
		{"", (*session).send},
		{", octets are sent in frame-wise chops", (*session).sendEach},
		{", octets are sent in octet-wise chops", (*session).sendOctetwise},
	} {
		cs = append(cs, Case{
			ID:     fmt.Sprintf("5.%d", 3+i),
			Desc:   "Send text Message fragmented into 2 fragments" + way.desc + ".",
			Expect: "Message is processed and echo'ed back to us.",
			run: func(s *session) error {
				way.send(s, fragmentedText...)
				return s.expectEcho(msg(rawclient.OpText, f1+f2))
			},
		})
	}
	for i, way := range []sendWay{
		{"", (*session).send},
		{" Octets are sent in frame-wise chops.", (*session).sendEach},
		{" Octets are sent in octet-wise chops.", (*session).sendOctetwise},
	} {
		cs = append(cs, Case{
			ID:     fmt.Sprintf("5.%d", 6+i),
			Desc:   "Send text Message fragmented into 2 fragments, one ping with payload in-between." + way.desc,
			Expect: "A pong is received, then the message is echo'ed back to us.",
			run: func(s *session) error {
				way.send(s, withPing...)
				return s.expectEcho(pongOf("ping payload"), msg(rawclient.OpText, f1+f2))
			},
		})
	}
	for i, fin := range []bool{true, false} {
		for j, way := range []sendWay{
			{"sent in one chop", (*session).send},
			{"sent in per-frame chops", (*session).sendEach},
			{"sent in octet-wise chops", (*session).sendOctetwise},
		} {
			cs = append(cs, Case{
				ID:     fmt.Sprintf("5.%d", 9+3*i+j),
				Desc:   fmt.Sprintf("Send unfragmented Text Message after Continuation Frame with FIN = %t, where there is nothing to continue, %s.", fin, way.desc),
				Expect: "The connection is failed immediately, since there is no message to continue.",
				run: func(s *session) error {
					way.send(s, frame(rawclient.OpContinuation, fin, "non-continuation payload"), frame(rawclient.OpText, true, hello))
					return s.expectFail(closeProtocolError)
				},
			})
		}
	}
	cs = append(cs, Case{
		ID:     "5.15",
		Desc:   "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.",
		Expect: "The message is echo'ed back to us, then the connection is failed immediately, since there is no message to continue.",
		run: func(s *session) error {
			s.send(frame(rawclient.OpText, false, f1), frame(rawclient.OpContinuation, true, f2),
				frame(rawclient.OpContinuation, false, "fragment3"), frame(rawclient.OpText, true, "fragment4"))
			return s.expectThenFail(closeProtocolError, msg(rawclient.OpText, f1+f2))
		},
	})
	for i, fin := range []bool{false, true} {
		cs = append(cs, Case{
			ID:     fmt.Sprintf("5.%d", 16+i),
			Desc:   fmt.Sprintf("Repeated 2x: Continuation Frame with FIN = %t (where there is nothing to continue), then text Message fragmented into 2 fragments.", fin),
			Expect: "The connection is failed immediately, since there is no message to continue.",
			run: func(s *session) error {
				var fs []rawclient.Frame
				for range 2 {
					fs = append(fs, frame(rawclient.OpContinuation, fin, f1), frame(rawclient.OpText, false, f2), frame(rawclient.OpContinuation, true, "fragment3"))
				}
				s.send(fs...)
				return s.expectFail(closeProtocolError)
			},
		})
	}
	cs = append(cs, Case{
		ID:     "5.18",
		Desc:   "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.",
		Expect: "The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.",
		run: func(s *session) error {
			s.send(frame(rawclient.OpText, false, f1), frame(rawclient.OpText, true, f2))
			return s.expectFail(closeProtocolError)
		},
	})
	for i, way := range []sendWay{
		{"A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait for its Pong, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.", (*session).send},
		{"Same as Case 5.19, but send all frames with SYNC = True (each frame in a write of its own). This does not change the octets sent, only how the stream is chopped up on the wire.", (*session).sendEach},
	} {
		cs = append(cs, Case{
			ID:     fmt.Sprintf("5.%d", 19+i),
			Desc:   way.desc,
			Expect: "The peer answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
			run: func(s *session) error {
				way.send(s, frame(rawclient.OpText, false, "fragment1"), frame(rawclient.OpContinuation, false, "fragment2"), frame(rawclient.OpPing, true, "pongme 1!"))
				if err := s.expect(pongOf("pongme 1!")); err != nil {
					return err
				}
				way.send(s, frame(rawclient.OpContinuation, false, "fragment3"), frame(rawclient.OpContinuation, false, "fragment4"),
					frame(rawclient.OpPing, true, "pongme 2!"), frame(rawclient.OpContinuation, true, "fragment5"))
				return s.expectEcho(pongOf("pongme 2!"), msg(rawclient.OpText, "fragment1fragment2fragment3fragment4fragment5"))
			},
		})
	}
	return cs
}

// autoFragmentationCases are Autobahn's section 10: a large message split
// into many frames, the way a client library fragments automatically.
func autoFragmentationCases() []Case {
	const size, fragment = 65536, 1300
	return []Case{{
		ID:     "10.1.1",
		Desc:   "Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.",
		Expect: "Receive echo'ed text message (with payload as sent). Clean close with normal code.",
		run: func(s *session) error {
			payload := strings.Repeat("*", size)
			var fs []rawclient.Frame
			for off := 0; off < size; off += fragment {
				op := rawclient.OpContinuation
				if off == 0 {
					op = rawclient.OpText
				}
				end := min(off+fragment, size)
				fs = append(fs, frame(op, end == size, payload[off:end]))
			}
			s.send(fs...)
			return s.expectEcho(msg(rawclient.OpText, payload))
		},
	}}
}
