package rawclient

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestFrameRoundTrip reads back what AppendFrame writes, at every length
// encoding, and checks that the payload went out masked.
func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		want := Frame{Fin: n%2 == 0, Rsv: RSV1 | RSV3, Opcode: Opcode(n % 16), Payload: bytes.Repeat([]byte{'x'}, n)}
		wire := AppendFrame(nil, want)
		if n > 8 && bytes.Contains(wire, want.Payload[:8]) {
			t.Errorf("length %d: payload written unmasked", n)
		}
		c := &Conn{br: bufio.NewReader(bytes.NewReader(wire)), conn: nopConn{}}
		got, err := c.ReadFrame(0)
		if err != nil {
			t.Fatalf("length %d: %v", n, err)
		}
		if got.Fin != want.Fin || got.Rsv != want.Rsv || got.Opcode != want.Opcode || !got.Masked || !bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("length %d: read %+v, wrote %+v", n, got, want)
		}
		if _, err := c.ReadFrame(0); err != io.EOF {
			t.Errorf("length %d: after the frame: %v, want io.EOF", n, err)
		}
	}
}

// nopConn lets a Conn read from a byte slice: only deadlines are set.
type nopConn struct{ net.Conn }

func (nopConn) SetReadDeadline(time.Time) error { return nil }
