package conformance

import (
	"fmt"
	"strings"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// framingCases are Autobahn's section 1: text (1.1) and binary (1.2)
// messages at every boundary of the frame length encoding (7-bit, 16-bit,
// 64-bit), and one sent in pieces that cut through header and payload.
func framingCases() []Case {
	var cs []Case
	for sub, kind := range []struct {
		op   rawclient.Opcode
		fill string
	}{{rawclient.OpText, "*"}, {rawclient.OpBinary, "\xfe"}} {
		for i, n := range []int{0, 125, 126, 127, 128, 65535, 65536} {
			cs = append(cs, echoCase(fmt.Sprintf("1.%d.%d", sub+1, i+1), kind.op, strings.Repeat(kind.fill, n), 0))
		}
		cs = append(cs, echoCase(fmt.Sprintf("1.%d.8", sub+1), kind.op, strings.Repeat(kind.fill, 65536), 997))
	}
	return cs
}

// echoCase sends one message of opcode op in a single frame, in pieces of
// chop bytes unless chop is 0, and expects its echo.
func echoCase(id string, op rawclient.Opcode, payload string, chop int) Case {
	desc := fmt.Sprintf("Send %s message with payload of length %d.", op, len(payload))
	if chop > 0 {
		desc += fmt.Sprintf(" Sent out data in chops of %d octets.", chop)
	}
	return Case{
		ID:     id,
		Desc:   desc,
		Expect: fmt.Sprintf("Receive echo'ed %s message (with payload as sent). Clean close with normal code.", op),
		run: func(s *session) error {
			s.sendChopped(chop, frame(op, true, payload))
			return s.expectEcho(msg(op, payload))
		},
	}
}
