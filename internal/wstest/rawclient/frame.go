package rawclient

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
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
