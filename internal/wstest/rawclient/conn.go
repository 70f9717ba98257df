package rawclient

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// MaxPayload bounds the payload length the client accepts in one frame,
// and the conformance driver in one reassembled message: a broken server
// announcing a 2^63-byte frame must fail a case, not exhaust the test's
// memory. It is well above the 16 MiB messages of Autobahn's section 9.
const MaxPayload = 64 << 20

// Conn is the client side of a WebSocket connection over a plain TCP
// connection, with nothing between the caller and the wire: it writes
// exactly the frames it is given (masked, as a client must) and reads
// frames without interpreting them.
type Conn struct {
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

// NewConn returns a Conn on nc, whose opening handshake was done
// elsewhere and answered with resp (nil when there is none to show);
// br, if not nil, holds what was read of nc past the handshake. An HTTP/2
// stream (H2Conn.Dial) and the server's end of a connection that plays
// the cases against a client (conformance.Case.CheckClient) are Conns so.
func NewConn(nc net.Conn, br *bufio.Reader, resp *http.Response) *Conn {
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return &Conn{conn: nc, br: br, resp: resp}
}

// Response returns the server's handshake response; its headers carry
// what was negotiated (Sec-WebSocket-Extensions, Sec-WebSocket-Protocol).
func (c *Conn) Response() *http.Response { return c.resp }

// Close closes the TCP connection without a closing handshake.
func (c *Conn) Close() error { return c.conn.Close() }

// WriteFrame writes f in a single write.
func (c *Conn) WriteFrame(f Frame) error { return c.WriteRaw(AppendFrame(nil, f)) }

// WriteFrames writes fs back to back in a single write, the way Autobahn
// sends several frames "in one chop".
func (c *Conn) WriteFrames(fs ...Frame) error {
	var b []byte
	for _, f := range fs {
		b = AppendFrame(b, f)
	}
	return c.WriteRaw(b)
}

// WriteChopped writes b in pieces of chop bytes, sleeping pause between
// pieces, so that the server receives a frame across many reads, as in
// Autobahn's "chopped" cases. A chop of 0 or less writes b at once.
func (c *Conn) WriteChopped(b []byte, chop int, pause time.Duration) error {
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
func (c *Conn) WriteRaw(b []byte) error {
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
func (c *Conn) ReadFrame(timeout time.Duration) (Frame, error) {
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
	if n > MaxPayload {
		return Frame{}, fmt.Errorf("rawclient: server frame announces %d payload bytes, more than the client accepts (%d)", n, MaxPayload)
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

func (c *Conn) setReadDeadline(timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	return c.conn.SetReadDeadline(deadline)
}

// WaitReadable waits up to timeout for the server's next byte without
// consuming it. It returns nil once one is there, an error wrapping
// os.ErrDeadlineExceeded if none came in time, and otherwise the read's
// error (io.EOF when the server closed the connection).
func (c *Conn) WaitReadable(timeout time.Duration) error {
	if err := c.setReadDeadline(timeout); err != nil {
		return err
	}
	_, err := c.br.Peek(1)
	return err
}

// WaitClosed waits up to timeout for the server to close the TCP
// connection. It returns nil once the server has closed it (end of stream
// or reset), and an error if bytes arrive first or the time runs out.
func (c *Conn) WaitClosed(timeout time.Duration) error {
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
