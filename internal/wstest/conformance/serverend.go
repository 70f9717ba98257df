package conformance

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// errUnmaskedClientFrame is what a case sees when the testee client sends
// a frame without a masking key (RFC 6455, section 5.1).
var errUnmaskedClientFrame = errors.New("testee client sent an unmasked frame (RFC 6455, section 5.1: a client masks every frame)")

// serverEnd turns the server end of a connection into one the cases can
// drive as if they were the client. The cases are written for the client
// end: they mask what they send and expect the peer's frames unmasked. So
// serverEnd strips the mask from every frame the cases write, making them
// the unmasked frames a server sends, and requires a mask on every frame
// the testee client sends, removing it before the cases read the frame.
// Headers, reserved bits, opcodes, payloads and the chopping of writes
// pass through unchanged, so every case means the same from either end.
//
// A server also closes the TCP connection first (RFC 6455, section 7.1.1):
// once a close frame has gone each way, serverEnd half-closes the
// connection, and the cases, which wait for the peer to close TCP after a
// closing handshake, see the testee follow.
type serverEnd struct {
	net.Conn           // the TCP connection to the testee: writes, deadlines, Close
	r        io.Reader // the testee's bytes, through the handshake's reader

	in  unmasker // testee → cases
	out unmasker // cases → testee

	mu         sync.Mutex
	halfClosed bool
	rerr       error
}

func newServerEnd(nc net.Conn, r io.Reader) *serverEnd {
	return &serverEnd{Conn: nc, r: r, in: unmasker{requireMask: true}, out: unmasker{}}
}

// Read returns the testee's frames, unmasked.
func (c *serverEnd) Read(p []byte) (int, error) {
	if c.rerr != nil {
		return 0, c.rerr
	}
	for {
		n, err := c.r.Read(p)
		m, ferr := c.in.transform(p[:n], p[:n])
		if ferr != nil {
			c.rerr = ferr
			return m, ferr
		}
		c.maybeHalfClose()
		if m > 0 || err != nil {
			return m, err
		}
	}
}

// Write sends the cases' frames to the testee, unmasked.
func (c *serverEnd) Write(p []byte) (int, error) {
	buf := make([]byte, len(p))
	m, err := c.out.transform(buf, p)
	if err != nil {
		return 0, err
	}
	if m > 0 {
		if _, err := c.Conn.Write(buf[:m]); err != nil {
			return 0, err
		}
	}
	c.maybeHalfClose()
	return len(p), nil
}

// maybeHalfClose sends FIN once the closing handshake is complete.
func (c *serverEnd) maybeHalfClose() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halfClosed || !c.in.closeSeen() || !c.out.closeSeen() {
		return
	}
	c.halfClosed = true
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// unmasker rewrites a stream of frames, possibly cut anywhere, into the
// same frames without masking keys.
type unmasker struct {
	requireMask bool

	hdr       [14]byte // the header being read
	hn        int      // bytes of it read
	hlen      int      // its full length, once its second byte is known
	remaining uint64   // payload bytes still to come
	key       [4]byte
	pos       int // position in the payload, for the key
	closes    int // close frames passed whole
	mu        sync.Mutex
}

func (u *unmasker) closeSeen() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.closes > 0
}

// transform writes src, unmasked, to dst, which may be src itself: the
// output is never longer than the input. It returns the bytes written.
func (u *unmasker) transform(dst, src []byte) (int, error) {
	w := 0
	for i := 0; i < len(src); {
		if u.hlen == 0 || u.hn < u.hlen {
			b := src[i]
			i++
			u.hdr[u.hn] = b
			u.hn++
			switch {
			case u.hn == 1:
				dst[w] = b
				w++
			case u.hn == 2:
				masked := b&0x80 != 0
				if u.requireMask && !masked {
					return w, errUnmaskedClientFrame
				}
				u.hlen = 2
				switch b & 0x7f {
				case 126:
					u.hlen += 2
				case 127:
					u.hlen += 8
				}
				if masked {
					u.hlen += 4
				} else {
					u.key = [4]byte{}
				}
				dst[w] = b & 0x7f
				w++
			case u.hdr[1]&0x80 != 0 && u.hn > u.hlen-4:
				u.key[u.hn-(u.hlen-4)-1] = b
			default:
				dst[w] = b
				w++
			}
			if u.hn == u.hlen {
				u.startPayload()
			}
			continue
		}
		n := int(min(u.remaining, uint64(len(src)-i)))
		for j := range n {
			dst[w+j] = src[i+j] ^ u.key[(u.pos+j)&3]
		}
		w += n
		i += n
		u.pos += n
		u.remaining -= uint64(n)
		if u.remaining == 0 {
			u.endFrame()
		}
	}
	return w, nil
}

func (u *unmasker) startPayload() {
	switch n := u.hdr[1] & 0x7f; n {
	case 126:
		u.remaining = uint64(binary.BigEndian.Uint16(u.hdr[2:]))
	case 127:
		u.remaining = binary.BigEndian.Uint64(u.hdr[2:])
	default:
		u.remaining = uint64(n)
	}
	u.pos = 0
	if u.remaining == 0 {
		u.endFrame()
	}
}

func (u *unmasker) endFrame() {
	if u.hdr[0]&0x0f == byte(rawclient.OpClose) {
		u.mu.Lock()
		u.closes++
		u.mu.Unlock()
	}
	u.hn, u.hlen = 0, 0
}
