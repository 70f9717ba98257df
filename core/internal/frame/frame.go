// Package frame parses and encodes RFC 6455 frame headers and masks payloads.
//
// It knows nothing of connections or messages: callers hand it bytes and get
// back a Header, so the same code serves the server and the client side.
package frame

import (
	"encoding/binary"
	"errors"
)

// MaxHeaderSize is the largest header a frame can have: 2 fixed bytes, 8 bytes
// of extended length and a 4-byte masking key.
const MaxHeaderSize = 14

// Opcodes defined by RFC 6455 §5.2.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// Reserved bits as they sit in the first header byte.
const (
	Rsv1 = 0x40
	Rsv2 = 0x20
	Rsv3 = 0x10
)

// ErrShort reports that the bytes given hold only part of a header.
var ErrShort = errors.New("frame: header incomplete")

// ErrLength reports a 64-bit length with its most significant bit set, which
// RFC 6455 §5.2 forbids.
var ErrLength = errors.New("frame: payload length out of range")

// Header is a decoded frame header.
type Header struct {
	Fin    bool
	Rsv    byte // the reserved bits, masked with Rsv1|Rsv2|Rsv3
	Opcode byte
	Masked bool
	Key    [4]byte
	Length int64
}

// IsControl reports whether op is a control opcode (close, ping, pong or a
// reserved control opcode).
func IsControl(op byte) bool { return op&0x8 != 0 }

// Parse decodes the header at the start of b and returns it with its size in
// bytes. It returns ErrShort when b ends before the header does, so a reader
// can fetch more bytes and call again.
func Parse(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, ErrShort
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = b[0] & (Rsv1 | Rsv2 | Rsv3)
	h.Opcode = b[0] & 0x0f
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, ErrShort
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, ErrShort
		}
		v := binary.BigEndian.Uint64(b[2:])
		if v>>63 != 0 {
			return h, 0, ErrLength
		}
		h.Length = int64(v)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, ErrShort
		}
		copy(h.Key[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// Size returns the number of bytes Encode writes for a header with the given
// payload length and masking.
func Size(length int64, masked bool) int {
	n := 2
	switch {
	case length > 0xffff:
		n = 10
	case length > 125:
		n = 4
	}
	if masked {
		n += 4
	}
	return n
}

// Encode writes h at the start of dst, which must hold Size(h.Length,
// h.Masked) bytes, and returns the number of bytes written. It always uses
// the shortest length form, as RFC 6455 §5.2 requires.
func Encode(dst []byte, h Header) int {
	b0 := h.Opcode&0x0f | h.Rsv&(Rsv1|Rsv2|Rsv3)
	if h.Fin {
		b0 |= 0x80
	}
	dst[0] = b0
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	n := 2
	switch {
	case h.Length > 0xffff:
		dst[1] = b1 | 127
		binary.BigEndian.PutUint64(dst[2:], uint64(h.Length))
		n = 10
	case h.Length > 125:
		dst[1] = b1 | 126
		binary.BigEndian.PutUint16(dst[2:], uint16(h.Length))
		n = 4
	default:
		dst[1] = b1 | byte(h.Length)
	}
	if h.Masked {
		copy(dst[n:], h.Key[:])
		n += 4
	}
	return n
}

// HeaderLen returns the size of the header whose second byte is b1: the
// two fixed bytes, the extended length and the masking key. A reader that
// has two bytes knows from it how many more to wait for.
func HeaderLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}
