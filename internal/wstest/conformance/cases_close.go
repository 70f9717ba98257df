package conformance

import (
	"fmt"
	"strings"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// closeCases are Autobahn's section 7: the closing handshake started by
// the client, frames after a close frame (ignored), the structure of the
// close payload (length, code, UTF-8 reason) and which close codes are
// valid.
func closeCases() []Case {
	normal := closeWant{codes: []int{closeNormal, noStatus}}
	protocolErrorOrDrop := closeWant{codes: []int{closeProtocolError}, allowDrop: true}
	closeWith := func(w closeWant, fs ...rawclient.Frame) func(*session) error {
		return func(s *session) error {
			s.send(fs...)
			return s.expectClose(w)
		}
	}
	const cleanNormal = "Clean close with normal code."
	cs := []Case{
		{ID: "7.1.1", Desc: "Send a message followed by a close frame", Expect: "Echoed message followed by clean close with normal code.",
			run: func(s *session) error {
				s.send(frame(rawclient.OpText, true, "Hello World!"))
				return s.expectEcho(msg(rawclient.OpText, "Hello World!"))
			}},
		{ID: "7.1.2", Desc: "Send two close frames", Expect: "Clean close with normal code. Second close frame ignored.",
			run: closeWith(normal, closeFrame(closeNormal, ""), closeFrame(noStatus, ""))},
		{ID: "7.1.3", Desc: "Send a ping after close message", Expect: "Clean close with normal code, no pong.",
			run: closeWith(normal, closeFrame(closeNormal, ""), frame(rawclient.OpPing, true, ""))},
		{ID: "7.1.4", Desc: "Send text message after sending a close frame.", Expect: "Clean close with normal code. Text message ignored.",
			run: closeWith(normal, closeFrame(closeNormal, ""), frame(rawclient.OpText, true, "Hello World!"))},
		{ID: "7.1.5", Desc: "Send message fragment1 followed by close then fragment", Expect: cleanNormal,
			run: closeWith(normal, frame(rawclient.OpText, false, "fragment1"), closeFrame(closeNormal, ""), frame(rawclient.OpContinuation, true, "fragment2"))},
		{ID: "7.1.6", Desc: "Send 256K message followed by close then a ping",
			Expect: "Informational in Autobahn: the close frame may be processed before the messages are echoed, so each echo may be missing or cut short, but what arrives is the echo of what was sent, in order, followed by a clean close with normal code and no pong.",
			run:    closeAfterBigMessage},
		{ID: "7.3.1", Desc: "Send a close frame with payload length 0 (no close code, no close reason)", Expect: cleanNormal,
			run: closeWith(normal, closeFrame(noStatus, ""))},
		{ID: "7.3.2", Desc: "Send a close frame with payload length 1", Expect: "Clean close with protocol error or drop TCP.",
			run: closeWith(protocolErrorOrDrop, frame(rawclient.OpClose, true, "a"))},
		{ID: "7.3.3", Desc: "Send a close frame with payload length 2 (regular close with a code)", Expect: cleanNormal,
			run: closeWith(normal, closeFrame(closeNormal, ""))},
		{ID: "7.3.4", Desc: "Send a close frame with close code and close reason", Expect: cleanNormal,
			run: closeWith(normal, closeFrame(closeNormal, "Hello World!"))},
		{ID: "7.3.5", Desc: "Send a close frame with close code and close reason of maximum length (123)", Expect: cleanNormal,
			run: closeWith(normal, closeFrame(closeNormal, strings.Repeat("*", 123)))},
		{ID: "7.3.6", Desc: "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets", Expect: "Clean close with protocol error code or dropped TCP connection.",
			run: closeWith(protocolErrorOrDrop, closeFrame(closeNormal, strings.Repeat("*", 124)))},
		{ID: "7.5.1", Desc: "Send a close frame with invalid UTF8 payload", Expect: "Clean close with protocol error or invalid utf8 code or dropped TCP.",
			run: closeWith(closeWant{codes: []int{closeProtocolError, closeInvalidPayload}, allowDrop: true},
				closeFrame(closeNormal, kosme+"\xed\xa0\x80edited"))},
	}
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cs = append(cs, Case{
			ID:     fmt.Sprintf("7.7.%d", i+1),
			Desc:   fmt.Sprintf("Send close with valid close code %d", code),
			Expect: "Clean close with normal or echoed code",
			run:    closeWith(closeWant{codes: []int{closeNormal, code, noStatus}}, closeFrame(code, "")),
		})
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		cs = append(cs, Case{
			ID:     fmt.Sprintf("7.9.%d", i+1),
			Desc:   fmt.Sprintf("Send close with invalid close code %d", code),
			Expect: "Clean close with protocol error code or drop TCP",
			run:    closeWith(protocolErrorOrDrop, closeFrame(code, "")),
		})
	}
	for i, code := range []int{5000, 65535} {
		cs = append(cs, Case{
			ID:     fmt.Sprintf("7.13.%d", i+1),
			Desc:   fmt.Sprintf("Send close with close code %d", code),
			Expect: "Informational in Autobahn (the spec leaves it undefined): the server closes with a normal, echoed or protocol error code, or drops TCP.",
			run:    closeWith(closeWant{codes: []int{closeNormal, code, closeProtocolError, noStatus}, allowDrop: true}, closeFrame(code, "")),
		})
	}
	return cs
}

// closeAfterBigMessage is case 7.1.6. A server that handles frames
// asynchronously may act on the close before it has echoed the messages
// ahead of it, so any prefix of the echoes is accepted, even one ending
// inside a fragmented echo.
func closeAfterBigMessage(s *session) error {
	const size = 256 << 10
	const pattern = "BAsd7&jh23"
	big := strings.Repeat(pattern, size/len(pattern)+1)[:size]
	s.send(frame(rawclient.OpText, true, big), frame(rawclient.OpText, true, "Hello World!"), closeFrame(closeNormal, ""), frame(rawclient.OpPing, true, ""))
	normal := closeWant{codes: []int{closeNormal, noStatus}}
	for _, w := range []event{msg(rawclient.OpText, big), msg(rawclient.OpText, "Hello World!")} {
		got, err := s.next(readTimeout)
		if err != nil || got.kind == evClose {
			return s.closeIs(normal, got, err)
		}
		if err := w.differ(got); err != nil {
			return err
		}
	}
	return s.expectClose(normal)
}
