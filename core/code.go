package gws

import "github.com/gwsgo/gws/core/internal/frame"

// Opcode is the type of a WebSocket frame (RFC 6455 §5.2).
type Opcode uint8

// The opcodes an application sees. Continuation frames are reassembled by
// gws and never reach a handler.
const (
	OpcodeText   Opcode = frame.OpText
	OpcodeBinary Opcode = frame.OpBinary
	OpcodeClose  Opcode = frame.OpClose
	OpcodePing   Opcode = frame.OpPing
	OpcodePong   Opcode = frame.OpPong
)

// Code is a close status code (RFC 6455 §7.4).
type Code uint16

// The close codes of RFC 6455 §7.4.1 that an application sends or sees,
// and 1013 from the IANA registry. Any other code, such as one of the
// 4000–4999 range left to applications, is written Code(4000).
const (
	CloseNormal          Code = 1000
	CloseGoingAway       Code = 1001
	CloseProtocolError   Code = 1002
	CloseUnsupportedData Code = 1003
	CloseNoStatus        Code = 1005 // never sent; reported when a close frame had no code
	CloseAbnormal        Code = 1006 // never sent; reported when TCP ended without a close frame
	CloseInvalidPayload  Code = 1007
	ClosePolicyViolation Code = 1008
	CloseMessageTooBig   Code = 1009
	CloseInternalError   Code = 1011
	CloseTryAgainLater   Code = 1013
)

// validOnWire reports whether a peer may put c in a close frame: the
// registered codes that are not reserved for local reporting, and the ranges
// 3000–4999 left to libraries and applications (RFC 6455 §7.4.2).
func (c Code) validOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}
