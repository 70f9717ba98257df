package wstest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Opcode is a frame opcode (RFC 6455, section 5.2). The reserved values
// 0x3–0x7 and 0xB–0xF are valid Opcodes here: the cases send them on purpose.
type Opcode uint8

// The opcodes RFC 6455 defines.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is in the control range 0x8–0xF.
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// IsReserved reports whether RFC 6455 leaves op undefined.
func (op Opcode) IsReserved() bool {
	return (op > OpBinary && op < OpClose) || op > OpPong
}

// String returns the opcode's name, or its number for a reserved opcode.
func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("opcode %d", uint8(op))
}

// The reserved header bits as values of Frame.Rsv. They are numbered as
// Autobahn numbers them (its "RSV = 4" is RSV1), so case descriptions and
// code read alike. RSV1 is the bit permessage-deflate (RFC 7692) uses.
const (
	RSV1 uint8 = 4
	RSV2 uint8 = 2
	RSV3 uint8 = 1
)

// Frame is one WebSocket frame, with every header field under the caller's
// control so that cases can send frames a server must reject.
type Frame struct {
	Fin     bool
	Rsv     uint8 // three bits, RSV1|RSV2|RSV3
	Opcode  Opcode
	Payload []byte
	// Masked is set on a frame read from the server when it carried a
	// masking key, which a server must never send (RFC 6455, section 5.1).
	// Frames the client writes are always masked and ignore this field.
	Masked bool
}

// maxReadPayload bounds the payload length the client accepts in one frame
// or one reassembled message: a broken server announcing a 2^63-byte frame
// must fail a case, not exhaust the test's memory. It is well above the
// 16 MiB messages of Autobahn's section 9.
const maxReadPayload = 64 << 20

// handshakeTimeout bounds dialing and the opening handshake.
const handshakeTimeout = 5 * time.Second

// acceptGUID is the fixed string of RFC 6455, section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// RawConn is the client side of a WebSocket connection over a plain TCP
// connection, with nothing between the cases and the wire: it writes
// exactly the frames it is given (masked, as a client must) and reads
// frames without interpreting them.
type RawConn struct {
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

// Dial opens a TCP connection to addr (host:port) and performs the opening
// handshake of RFC 6455 for path, with a random 16-byte key. extraHeader is
// added to the request and replaces a standard header of the same name (a
// name with no values removes it), so that a caller can offer extensions
// (Sec-WebSocket-Extensions), subprotocols, an Origin, or a deliberately
// wrong handshake; a "Host" entry replaces the Host line. Dial fails
// unless the server answers 101 with a matching Sec-WebSocket-Accept; the
// server's response is returned whenever one was read, even with an error.
func Dial(addr, path string, extraHeader http.Header) (*RawConn, *http.Response, error) {
	if path == "" {
		path = "/"
	}
	nc, err := net.DialTimeout("tcp", addr, handshakeTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("wstest: dial: %w", err)
	}
	c, resp, err := handshake(nc, addr, path, extraHeader)
	if err != nil {
		nc.Close()
		return nil, resp, err
	}
	return c, resp, nil
}

func handshake(nc net.Conn, addr, path string, extraHeader http.Header) (*RawConn, *http.Response, error) {
	if err := nc.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return nil, nil, fmt.Errorf("wstest: handshake: %w", err)
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	header := http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-Websocket-Key":     {base64.StdEncoding.EncodeToString(nonce[:])},
		"Sec-Websocket-Version": {"13"},
	}
	host := addr
	for k, v := range extraHeader {
		k = http.CanonicalHeaderKey(k)
		if k == "Host" {
			if len(v) > 0 {
				host = v[0]
			}
			continue
		}
		header[k] = v
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	header.Write(&req)
	req.WriteString("\r\n")
	if _, err := nc.Write(req.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("wstest: handshake: %w", err)
	}

	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, nil, fmt.Errorf("wstest: handshake: reading response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, resp, fmt.Errorf("wstest: handshake: status %q, want 101", resp.Status)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, resp, fmt.Errorf("wstest: handshake: Upgrade %q, want websocket", resp.Header.Get("Upgrade"))
	}
	if !hasToken(resp.Header["Connection"], "upgrade") {
		return nil, resp, fmt.Errorf("wstest: handshake: Connection %q lacks upgrade", resp.Header["Connection"])
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), AcceptKey(header.Get("Sec-WebSocket-Key")); got != want {
		return nil, resp, fmt.Errorf("wstest: handshake: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, resp, fmt.Errorf("wstest: handshake: %w", err)
	}
	// br may already hold frames the server sent right after its 101, so
	// it stays the connection's reader.
	return &RawConn{conn: nc, br: br, resp: resp}, resp, nil
}

// NewRawConn is a RawConn on nc, whose handshake is done and was answered
// with resp; br, if not nil, holds what was read of nc past the answer.
func NewRawConn(nc net.Conn, br *bufio.Reader, resp *http.Response) *RawConn {
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return &RawConn{conn: nc, br: br, resp: resp}
}

// AcceptKey returns the Sec-WebSocket-Accept value a server must answer to
// the Sec-WebSocket-Key key (RFC 6455, section 4.2.2).
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// hasToken reports whether the comma-separated header values hold token,
// compared without regard to case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Response returns the server's handshake response; its headers carry
// what was negotiated (Sec-WebSocket-Extensions, Sec-WebSocket-Protocol).
func (c *RawConn) Response() *http.Response { return c.resp }

// Close closes the TCP connection without a closing handshake.
func (c *RawConn) Close() error { return c.conn.Close() }

// AppendFrame appends f to dst as a client sends it: masked with a fresh
// random key, its length in the shortest encoding.
func AppendFrame(dst []byte, f Frame) []byte {
	b0 := byte(f.Opcode&0xF) | (f.Rsv&0x7)<<4
	if f.Fin {
		b0 |= 0x80
	}
	n := len(f.Payload)
	switch {
	case n <= 125:
		dst = append(dst, b0, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var key [4]byte
	rand.Read(key[:])
	dst = append(dst, key[:]...)
	for i, b := range f.Payload {
		dst = append(dst, b^key[i&3])
	}
	return dst
}

// WriteFrame writes f in a single write.
func (c *RawConn) WriteFrame(f Frame) error { return c.WriteRaw(AppendFrame(nil, f)) }

// WriteFrames writes fs back to back in a single write, the way Autobahn
// sends several frames "in one chop".
func (c *RawConn) WriteFrames(fs ...Frame) error {
	var b []byte
	for _, f := range fs {
		b = AppendFrame(b, f)
	}
	return c.WriteRaw(b)
}

// WriteChopped writes b in pieces of chop bytes, sleeping pause between
// pieces, so that the server receives a frame across many reads, as in
// Autobahn's "chopped" cases. A chop of 0 or less writes b at once.
func (c *RawConn) WriteChopped(b []byte, chop int, pause time.Duration) error {
	if chop <= 0 {
		return c.WriteRaw(b)
	}
	for len(b) > 0 {
		n := min(chop, len(b))
		if err := c.WriteRaw(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		if len(b) > 0 && pause > 0 {
			time.Sleep(pause)
		}
	}
	return nil
}

// writeTimeout keeps a write to a server that stopped reading from
// blocking a case forever.
const writeTimeout = 5 * time.Second

// WriteRaw writes b unchanged: bytes that need not be a valid frame.
func (c *RawConn) WriteRaw(b []byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err := c.conn.Write(b)
	return err
}

// ReadFrame reads the next frame, waiting at most timeout for all of it
// (0 waits forever). A masked frame is unmasked and has Masked set. The
// error is io.EOF when the server closed the connection between frames,
// and a net.Error with Timeout() true when time ran out; after a timeout
// in the middle of a frame the stream is out of step and the connection
// good only for closing.
func (c *RawConn) ReadFrame(timeout time.Duration) (Frame, error) {
	if err := c.setReadDeadline(timeout); err != nil {
		return Frame{}, err
	}
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{
		Fin:    h[0]&0x80 != 0,
		Rsv:    (h[0] >> 4) & 0x7,
		Opcode: Opcode(h[0] & 0xF),
		Masked: h[1]&0x80 != 0,
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return Frame{}, unexpectedEOF(err)
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return Frame{}, unexpectedEOF(err)
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > maxReadPayload {
		return Frame{}, fmt.Errorf("wstest: server frame announces %d payload bytes, more than the client accepts (%d)", n, maxReadPayload)
	}
	var key [4]byte
	if f.Masked {
		if _, err := io.ReadFull(c.br, key[:]); err != nil {
			return Frame{}, unexpectedEOF(err)
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, f.Payload); err != nil {
		return Frame{}, unexpectedEOF(err)
	}
	if f.Masked {
		for i := range f.Payload {
			f.Payload[i] ^= key[i&3]
		}
	}
	return f, nil
}

// unexpectedEOF turns an end of stream inside a frame into
// io.ErrUnexpectedEOF, so that callers can tell a connection closed
// between frames from one closed halfway through a frame.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (c *RawConn) setReadDeadline(timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	return c.conn.SetReadDeadline(deadline)
}

// WaitClosed waits up to timeout for the server to close the TCP
// connection. It returns nil once the server has closed it (end of stream
// or reset), and an error if bytes arrive first or the time runs out.
func (c *RawConn) WaitClosed(timeout time.Duration) error {
	if err := c.setReadDeadline(timeout); err != nil {
		return err
	}
	var buf [64]byte
	for {
		n, err := c.br.Read(buf[:])
		switch {
		case n > 0:
			return fmt.Errorf("server sent %d more bytes (% x) where it should have closed the TCP connection", n, buf[:n])
		case err == nil:
			continue
		case isTimeout(err):
			return fmt.Errorf("server did not close the TCP connection within %v", timeout)
		case errors.Is(err, net.ErrClosed):
			return err
		}
		return nil
	}
}

// isTimeout reports whether err is a deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
