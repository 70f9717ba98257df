package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// WebSocket opcodes the load generator sends or expects.
const (
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8

	// rsv1 marks a compressed message's first frame (RFC 7692 §6).
	rsv1 = 0x40
)

// encodeClientFrame returns one complete masked frame (RFC 6455 §5.2), FIN
// set. Frames are encoded once before the load starts and then written as
// they are, so the client spends nothing per message on framing or masking.
func encodeClientFrame(op byte, payload []byte, mask [4]byte) []byte {
	n := len(payload)
	hdr := make([]byte, 0, 14)
	hdr = append(hdr, 0x80|op)
	switch {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 0x80|126, 0, 0)
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
	default:
		hdr = append(hdr, 0x80|127, 0, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
	}
	hdr = append(hdr, mask[:]...)
	f := append(hdr, payload...)
	body := f[len(hdr):]
	for i := range body {
		body[i] ^= mask[i&3]
	}
	return f
}

// makePayload fills n bytes; text payloads are ASCII so they are valid UTF-8
// for servers that check it.
func makePayload(n int, text bool) []byte {
	p := make([]byte, n)
	for i := range p {
		if text {
			p[i] = 'a' + byte(i%26)
		} else {
			p[i] = byte(i*131 + 7)
		}
	}
	return p
}

// serverHeaderLen is the length of the header that starts b, given at least
// its first two bytes.
func serverHeaderLen(b []byte) int {
	if len(b) < 2 {
		return 2
	}
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	return n
}

var errServerClosed = errors.New("server sent a close frame")

// replyCounter counts complete data messages in the byte stream a server
// sends back, however the reads split it, without copying payloads. It
// accepts fragmented replies (some libraries split large messages into
// frames) and rejects what an echo must never send: masked frames, a wrong
// opcode, a close.
type replyCounter struct {
	wantOp byte
	hdr    [14]byte
	hn     int   // bytes of a header split across reads
	left   int64 // payload bytes of the current frame not yet seen
	fin    bool  // the current frame ends a message
	inMsg  bool  // a fragmented message has begun
}

// feed consumes p and returns how many messages it completed.
func (rc *replyCounter) feed(p []byte) (int, error) {
	msgs := 0
	for len(p) > 0 {
		if rc.left > 0 {
			k := int64(len(p))
			if k > rc.left {
				k = rc.left
			}
			rc.left -= k
			p = p[k:]
			if rc.left == 0 && rc.fin {
				msgs++
			}
			continue
		}
		var h []byte
		if rc.hn == 0 && len(p) >= 2 && len(p) >= serverHeaderLen(p) {
			h = p[:serverHeaderLen(p)]
			p = p[len(h):]
		} else {
			// A header split across reads: gather it byte by byte, which
			// happens rarely enough not to matter.
			for len(p) > 0 && (rc.hn < 2 || rc.hn < serverHeaderLen(rc.hdr[:rc.hn])) {
				rc.hdr[rc.hn] = p[0]
				rc.hn++
				p = p[1:]
			}
			if rc.hn < 2 || rc.hn < serverHeaderLen(rc.hdr[:rc.hn]) {
				return msgs, nil
			}
			h = rc.hdr[:rc.hn]
			rc.hn = 0
		}
		done, err := rc.header(h)
		if err != nil {
			return msgs, err
		}
		if done {
			msgs++
		}
	}
	return msgs, nil
}

// header takes in one complete frame header and reports whether it ended a
// message by itself (a final frame with no payload).
func (rc *replyCounter) header(h []byte) (bool, error) {
	if h[1]&0x80 != 0 {
		return false, errors.New("server sent a masked frame")
	}
	fin := h[0]&0x80 != 0
	op := h[0] & 0x0f
	var n int64
	switch h[1] & 0x7f {
	case 126:
		n = int64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		n = int64(binary.BigEndian.Uint64(h[2:]))
	default:
		n = int64(h[1] & 0x7f)
	}
	switch {
	case op == opClose:
		return false, errServerClosed
	case op >= 0x8:
		return false, fmt.Errorf("server sent unexpected control frame, opcode %#x", op)
	case op == 0 && !rc.inMsg:
		return false, errors.New("server sent a continuation frame outside a message")
	case op != 0 && rc.inMsg:
		return false, errors.New("server began a message inside another")
	case op != 0 && op != rc.wantOp:
		return false, fmt.Errorf("server echoed opcode %#x, sent %#x", op, rc.wantOp)
	}
	rc.inMsg = !fin
	rc.fin = fin
	rc.left = n
	return fin && n == 0, nil
}
