package conformance

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// How long a case waits. They are short so that a whole run takes seconds
// and a silent server fails its cases quickly, and long enough for a
// loaded CI machine running the race detector.
const (
	// readTimeout bounds the wait for each expected frame. It only guards
	// against a server that hangs: an echo of 128 KiB compressed by a
	// server under the race detector took more than 2 s on a busy
	// machine.
	readTimeout = 10 * time.Second
	// closeTimeout bounds the wait for the server to close the TCP
	// connection once the closing handshake is done.
	closeTimeout = 2 * time.Second
	// quietPeriod is how long a server must stay silent and keep the
	// connection open after a valid fragment of an unfinished message
	// (Autobahn waits 1 s; half of that tells the same).
	quietPeriod = 500 * time.Millisecond
	// failFastTimeout is how soon a server must fail the connection after
	// the fragment that makes a message invalid UTF-8; Autobahn sends the
	// rest of the message after 1 s.
	failFastTimeout = time.Second
	// chopPause separates the pieces of a chopped write, so that the
	// server really receives them in separate reads.
	chopPause = time.Millisecond
)

// Close status codes the cases send and expect (RFC 6455, section 7.4.1).
const (
	closeNormal         = 1000
	closeProtocolError  = 1002
	closeInvalidPayload = 1007
)

// noStatus is the code of a close frame without a status code (an empty
// payload).
const noStatus = -1

// errDropped means the server closed the TCP connection where a frame was
// expected, without a closing handshake.
var errDropped = errors.New("server closed the TCP connection without a close frame")

// errNoFrame means no frame came before the read timeout.
var errNoFrame = errors.New("no frame from the server")

type eventKind uint8

const (
	evMessage eventKind = iota
	evPing
	evPong
	evClose
)

// event is one thing the server sent, at the level at which Autobahn
// compares outcomes: a whole (possibly fragmented) message, a ping, a pong
// or a close frame.
type event struct {
	kind    eventKind
	op      rawclient.Opcode // of a message
	payload []byte           // of a message, ping or pong; the reason of a close
	code    int              // of a close frame, or noStatus
}

// msg is the echo the server owes for a message of opcode op.
func msg(op rawclient.Opcode, payload string) event {
	return event{kind: evMessage, op: op, payload: []byte(payload)}
}

// pongOf is the pong the server owes for a ping with payload.
func pongOf(payload string) event { return event{kind: evPong, payload: []byte(payload)} }

func (e event) String() string {
	switch e.kind {
	case evMessage:
		return fmt.Sprintf("%s message %s", e.op, describe(e.payload))
	case evPing:
		return "ping " + describe(e.payload)
	case evPong:
		return "pong " + describe(e.payload)
	}
	if e.code == noStatus {
		return "close frame without status code"
	}
	if len(e.payload) == 0 {
		return fmt.Sprintf("close frame with code %d", e.code)
	}
	return fmt.Sprintf("close frame with code %d, reason %s", e.code, describe(e.payload))
}

// describe shows a payload's length and its start, as text when it is
// valid UTF-8 and in hex otherwise.
func describe(p []byte) string {
	const show = 32
	head, more := p, ""
	if len(p) > show {
		head, more = p[:show], "…"
	}
	if utf8.Valid(p) {
		return fmt.Sprintf("(%d bytes) %s%s", len(p), strconv.Quote(string(head)), more)
	}
	return fmt.Sprintf("(%d bytes) 0x%x%s", len(p), head, more)
}

// differ returns nil if got is the event e, and otherwise an error that
// shows where they differ.
func (e event) differ(got event) error {
	if got.kind != e.kind || got.op != e.op || got.code != e.code {
		return fmt.Errorf("got %v, want %v", got, e)
	}
	if !bytes.Equal(got.payload, e.payload) {
		i := 0
		for i < len(got.payload) && i < len(e.payload) && got.payload[i] == e.payload[i] {
			i++
		}
		return fmt.Errorf("got %v, want %v: payloads differ from byte %d on", got, e, i)
	}
	return nil
}

// session is one case's conversation with the server: it sends frames,
// turns what comes back into events, and holds the assertions the cases
// share.
type session struct {
	c *rawclient.Conn
	// sentClose records that the client has sent a close frame, so that
	// it does not answer the server's close with another.
	sentClose bool
	// writeErr is the first failed write. Writes do not end a case: the
	// server may rightly close the connection while a case still sends,
	// and what the server sent tells the outcome. The error is reported
	// with the outcome when the case fails.
	writeErr error
	// The server's message being reassembled.
	inMessage      bool
	partOp         rawclient.Opcode
	part           []byte
	partCompressed bool
	// deflate is the client's permessage-deflate state, nil unless the
	// server accepted an offer.
	deflate *deflater
}

// run plays c, adding the first failed write to the outcome when c fails.
func (s *session) run(c Case) error {
	err := c.run(s)
	if err != nil && s.writeErr != nil {
		err = fmt.Errorf("%w (after a failed write: %v)", err, s.writeErr)
	}
	return err
}

func (s *session) noteWrite(err error) {
	if err != nil && s.writeErr == nil {
		s.writeErr = err
	}
}

func (s *session) noteClose(fs []rawclient.Frame) {
	for _, f := range fs {
		if f.Opcode == rawclient.OpClose {
			s.sentClose = true
		}
	}
}

// send writes fs back to back in one write ("in one chop").
func (s *session) send(fs ...rawclient.Frame) {
	s.noteClose(fs)
	if s.writeErr == nil {
		s.noteWrite(s.c.WriteFrames(fs...))
	}
}

// sendEach writes each frame of fs with a write of its own ("frame-wise
// chops").
func (s *session) sendEach(fs ...rawclient.Frame) {
	for _, f := range fs {
		s.send(f)
	}
}

// sendChopped writes fs in pieces of chop bytes ("octet-wise chops" when
// chop is 1).
func (s *session) sendChopped(chop int, fs ...rawclient.Frame) {
	s.noteClose(fs)
	var b []byte
	for _, f := range fs {
		b = rawclient.AppendFrame(b, f)
	}
	s.sendRaw(b, chop)
}

// sendOctetwise writes fs one byte at a time ("octet-wise chops").
func (s *session) sendOctetwise(fs ...rawclient.Frame) { s.sendChopped(1, fs...) }

// sendRaw writes b in pieces of chop bytes.
func (s *session) sendRaw(b []byte, chop int) {
	if s.writeErr == nil {
		s.noteWrite(s.c.WriteChopped(b, chop, chopPause))
	}
}

// next returns the next event the server sends, waiting at most timeout
// for each frame. It fails on any frame a server must not send.
func (s *session) next(timeout time.Duration) (event, error) {
	for {
		f, err := s.c.ReadFrame(timeout)
		if err != nil {
			return event{}, classifyReadError(err, timeout)
		}
		if err := s.checkServerFrame(f); err != nil {
			return event{}, err
		}
		switch f.Opcode {
		case rawclient.OpClose:
			return closeEvent(f.Payload)
		case rawclient.OpPing:
			return event{kind: evPing, payload: f.Payload}, nil
		case rawclient.OpPong:
			return event{kind: evPong, payload: f.Payload}, nil
		case rawclient.OpContinuation:
			if !s.inMessage {
				return event{}, errors.New("server sent a continuation frame with no message to continue")
			}
			if len(s.part)+len(f.Payload) > rawclient.MaxPayload {
				return event{}, fmt.Errorf("server message exceeds the %d bytes the client accepts", rawclient.MaxPayload)
			}
			s.part = append(s.part, f.Payload...)
		default:
			if s.inMessage {
				return event{}, fmt.Errorf("server started a %s message inside an unfinished %s message", f.Opcode, s.partOp)
			}
			s.inMessage, s.partOp, s.part, s.partCompressed = true, f.Opcode, f.Payload, f.Rsv == rawclient.RSV1
		}
		if !f.Fin {
			continue
		}
		e := event{kind: evMessage, op: s.partOp, payload: s.part}
		s.inMessage, s.part = false, nil
		if s.partCompressed {
			p, err := s.deflate.inflate(e.payload)
			if err != nil {
				return event{}, fmt.Errorf("server sent a compressed %s message (%d bytes compressed) that breaks the %v: %w", e.op, len(e.payload), s.deflate.a, err)
			}
			e.payload = p
		}
		if e.op == rawclient.OpText && !utf8.Valid(e.payload) {
			return event{}, fmt.Errorf("server sent a text message that is not valid UTF-8: %v", e)
		}
		return e, nil
	}
}

// classifyReadError tells a server that went silent from one that closed
// the connection.
func classifyReadError(err error, timeout time.Duration) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w within %v", errNoFrame, timeout)
	}
	var opErr *net.OpError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &opErr) {
		return fmt.Errorf("%w (%v)", errDropped, err)
	}
	return err
}

// checkServerFrame rejects what RFC 6455 forbids a server to send. No
// reserved bit may be set but RSV1, and that only with permessage-deflate
// agreed, on the first frame of a message (RFC 7692, section 6).
func (s *session) checkServerFrame(f rawclient.Frame) error {
	switch {
	case f.Masked:
		return fmt.Errorf("server sent a masked %s frame (RFC 6455, section 5.1)", f.Opcode)
	case f.Rsv == rawclient.RSV1 && s.deflate != nil && (f.Opcode.IsControl() || f.Opcode == rawclient.OpContinuation):
		return fmt.Errorf("server sent a %s frame with RSV1 set; permessage-deflate sets it on the first frame of a data message only (RFC 7692, section 6.1)", f.Opcode)
	case f.Rsv != 0 && (f.Rsv != rawclient.RSV1 || s.deflate == nil):
		return fmt.Errorf("server sent a %s frame with reserved bits %03b set", f.Opcode, f.Rsv)
	case f.Opcode.IsReserved():
		return fmt.Errorf("server sent a frame with reserved %s", f.Opcode)
	case f.Opcode.IsControl() && !f.Fin:
		return fmt.Errorf("server sent a fragmented %s frame", f.Opcode)
	case f.Opcode.IsControl() && len(f.Payload) > 125:
		return fmt.Errorf("server sent a %s frame with a %d-byte payload (at most 125)", f.Opcode, len(f.Payload))
	}
	return nil
}

func closeEvent(p []byte) (event, error) {
	switch {
	case len(p) == 0:
		return event{kind: evClose, code: noStatus}, nil
	case len(p) == 1:
		return event{}, fmt.Errorf("server sent a close frame with a 1-byte payload 0x%x", p)
	}
	e := event{kind: evClose, code: int(binary.BigEndian.Uint16(p)), payload: p[2:]}
	if !utf8.Valid(e.payload) {
		return event{}, fmt.Errorf("server sent a close reason that is not valid UTF-8: 0x%x", e.payload)
	}
	return e, nil
}

// validCloseCode reports whether an endpoint may send code in a close
// frame: the codes RFC 6455 defines for that, those IANA registered since
// (1012–1014), and the ranges for libraries and applications.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return code >= 3000 && code <= 4999
}

// frame builds a frame with no reserved bits set.
func frame(op rawclient.Opcode, fin bool, payload string) rawclient.Frame {
	return rawclient.Frame{Fin: fin, Opcode: op, Payload: []byte(payload)}
}

// closeFrame builds a close frame with code (none for noStatus) and
// reason.
func closeFrame(code int, reason string) rawclient.Frame {
	if code == noStatus {
		return rawclient.Frame{Fin: true, Opcode: rawclient.OpClose}
	}
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: append(p, reason...)}
}

// expect checks that the server sends exactly the events want, in order.
func (s *session) expect(want ...event) error {
	for _, w := range want {
		got, err := s.next(readTimeout)
		if err != nil {
			return fmt.Errorf("want %v: %w", w, err)
		}
		if err := w.differ(got); err != nil {
			return err
		}
	}
	return nil
}

// closeWant is the close frame a case accepts from the server.
type closeWant struct {
	codes []int // acceptable codes; noStatus admits a close without code
	// allowDrop accepts a server that closes the TCP connection without a
	// close frame, where the case's description allows it.
	allowDrop bool
}

func (w closeWant) String() string {
	var alts []string
	for _, c := range w.codes {
		if c == noStatus {
			alts = append(alts, "none")
		} else {
			alts = append(alts, strconv.Itoa(c))
		}
	}
	s := "a close frame with code " + strings.Join(alts, " or ")
	if w.allowDrop {
		s += ", or a dropped TCP connection"
	}
	return s
}

// expectClose checks that the next event is a close frame as w wants,
// answers it if the server started the closing handshake, and checks that
// the server then closes the TCP connection.
func (s *session) expectClose(w closeWant) error {
	got, err := s.next(readTimeout)
	return s.closeIs(w, got, err)
}

// closeIs does the work of expectClose on the outcome of a call to next.
func (s *session) closeIs(w closeWant, got event, err error) error {
	if err != nil {
		if w.allowDrop && errors.Is(err, errDropped) {
			return nil
		}
		return fmt.Errorf("want %v: %w", w, err)
	}
	if got.kind != evClose || !slices.Contains(w.codes, got.code) {
		if got.kind == evClose && got.code != noStatus && !validCloseCode(got.code) {
			return fmt.Errorf("got %v, a code a close frame must not carry; want %v", got, w)
		}
		return fmt.Errorf("got %v, want %v", got, w)
	}
	if !s.sentClose {
		// Answer as RFC 6455, section 5.5.1 asks. A server that fails the
		// connection may close TCP right after its close frame (section
		// 7.1.7), so a failed write here is no fault of its.
		s.sentClose = true
		_ = s.c.WriteFrame(closeFrame(got.code, ""))
	}
	return s.c.WaitClosed(closeTimeout)
}

// closeNormally performs the closing handshake from the client's side:
// the server must answer with code 1000 (or no code, as RFC 6455 allows)
// and then close the TCP connection.
func (s *session) closeNormally() error {
	s.send(closeFrame(closeNormal, ""))
	return s.expectClose(closeWant{codes: []int{closeNormal, noStatus}})
}

// expectEcho checks the events and a normal close after them: the
// outcome of every case in which the server only has to answer.
func (s *session) expectEcho(want ...event) error {
	if err := s.expect(want...); err != nil {
		return err
	}
	return s.closeNormally()
}

// expectFail checks that the server fails the connection with a close
// frame carrying code, and closes the TCP connection.
func (s *session) expectFail(code int) error {
	return s.expectClose(closeWant{codes: []int{code}})
}

// expectThenFail checks that the server sends the events want, answering
// the valid frames sent before a violation, and then fails the connection
// with code. A server that fails the connection without them noticed the
// violation before processing the frames ahead of it, which Autobahn
// grades NON-STRICT.
func (s *session) expectThenFail(code int, want ...event) error {
	for _, w := range want {
		got, err := s.next(readTimeout)
		if err != nil {
			return fmt.Errorf("want %v: %w", w, err)
		}
		if got.kind == evClose && got.code == code {
			return fmt.Errorf("%w: got %v before %v", ErrNonStrict, got, w)
		}
		if err := w.differ(got); err != nil {
			return err
		}
	}
	return s.expectFail(code)
}

// expectQuiet checks that for d the server sends nothing and keeps the
// connection open.
func (s *session) expectQuiet(d time.Duration) error {
	switch err := s.c.WaitReadable(d); {
	case err == nil:
		got, err := s.next(readTimeout)
		if err != nil {
			return fmt.Errorf("server should have waited for the rest of the message: %w", err)
		}
		return fmt.Errorf("got %v where the server should have waited for the rest of the message", got)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	default:
		return fmt.Errorf("%w (%v) where it should have waited for the rest of the message", errDropped, err)
	}
}
