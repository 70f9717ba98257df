package conformance

import (
	"fmt"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

const hello = "Hello, world!"

// withRsv returns f with the reserved bits rsv set.
func withRsv(f rawclient.Frame, rsv uint8) rawclient.Frame {
	f.Rsv = rsv
	return f
}

// reservedBitCases are Autobahn's section 3: with no extension
// negotiated, a frame with any reserved bit set must fail the connection
// with 1002, after the server has answered the valid frames before it.
func reservedBitCases() []Case {
	const failNow = "The connection is failed immediately, since RSV must be 0."
	const echoThenFail = "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received."
	rsvThenPing := func(rsv uint8, send func(*session, ...rawclient.Frame)) func(*session) error {
		return func(s *session) error {
			send(s, frame(rawclient.OpText, true, hello), withRsv(frame(rawclient.OpText, true, hello), rsv), frame(rawclient.OpPing, true, ""))
			return s.expectThenFail(closeProtocolError, msg(rawclient.OpText, hello))
		}
	}
	failOn := func(f rawclient.Frame) func(*session) error {
		return func(s *session) error {
			s.send(f)
			return s.expectFail(closeProtocolError)
		}
	}
	return []Case{
		{
			ID:     "3.1",
			Desc:   "Send small text message with RSV = 1.",
			Expect: "The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated.",
			run:    failOn(withRsv(frame(rawclient.OpText, true, hello), 1)),
		},
		{
			ID:     "3.2",
			Desc:   "Send small text message, then send again with RSV = 2, then send Ping.",
			Expect: echoThenFail,
			run:    rsvThenPing(2, (*session).send),
		},
		{
			ID:     "3.3",
			Desc:   "Send small text message, then send again with RSV = 3, then send Ping. Octets are sent in frame-wise chops.",
			Expect: echoThenFail,
			run:    rsvThenPing(3, (*session).sendEach),
		},
		{
			ID:     "3.4",
			Desc:   "Send small text message, then send again with RSV = 4, then send Ping. Octets are sent in octet-wise chops.",
			Expect: echoThenFail,
			run:    rsvThenPing(4, (*session).sendOctetwise),
		},
		{
			ID:     "3.5",
			Desc:   "Send small binary message with RSV = 5.",
			Expect: failNow,
			run:    failOn(withRsv(frame(rawclient.OpBinary, true, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), 5)),
		},
		{
			ID:     "3.6",
			Desc:   "Send Ping with RSV = 6.",
			Expect: failNow,
			run:    failOn(withRsv(frame(rawclient.OpPing, true, hello), 6)),
		},
		{
			ID:     "3.7",
			Desc:   "Send Close with RSV = 7.",
			Expect: failNow,
			run:    failOn(withRsv(closeFrame(noStatus, ""), 7)),
		},
	}
}

// opcodeCases are Autobahn's section 4: a frame with a reserved
// non-control (4.1: 3–7) or control (4.2: 11–15) opcode must fail the
// connection with 1002, after the server has answered the valid frames
// before it.
func opcodeCases() []Case {
	var cs []Case
	for sub, group := range []struct {
		kind  string
		first rawclient.Opcode
	}{{"non-control", 3}, {"control", 11}} {
		for i := range 5 {
			op := group.first + rawclient.Opcode(i)
			c := Case{ID: fmt.Sprintf("4.%d.%d", sub+1, i+1)}
			payload, withPayload := "", ""
			switch i {
			case 1:
				payload, withPayload = "reserved opcode payload", " and non-empty payload"
			case 3, 4:
				payload, withPayload = hello, " and non-empty payload"
			}
			if i < 2 {
				c.Desc = fmt.Sprintf("Send frame with reserved %s Opcode = %d%s.", group.kind, op, withPayload)
				c.Expect = "The connection is failed immediately."
				c.run = func(s *session) error {
					s.send(frame(op, true, payload))
					return s.expectFail(closeProtocolError)
				}
			} else {
				c.Desc = fmt.Sprintf("Send small text message, then send frame with reserved %s Opcode = %d%s, then send Ping.", group.kind, op, withPayload)
				c.Expect = "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received."
				c.run = func(s *session) error {
					s.send(frame(rawclient.OpText, true, hello), frame(op, true, payload), frame(rawclient.OpPing, true, ""))
					return s.expectThenFail(closeProtocolError, msg(rawclient.OpText, hello))
				}
			}
			cs = append(cs, c)
		}
	}
	return cs
}
