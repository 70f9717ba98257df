// Package rawclient is a WebSocket client with nothing between its caller
// and the wire, for tests that must send what a real client never would.
//
// Dial performs the opening handshake of RFC 6455 itself, with any extra
// or altered headers (extension offers, an Origin, a deliberately wrong
// handshake), and returns a Conn. A Conn writes frames exactly as given
// (reserved bits, reserved opcodes, any fragmentation, one frame cut into
// pieces written apart, bytes that are no frame at all), always masked as
// a client must, and reads frames without interpreting them: control
// frames, fragments and close frames come back as they arrived, with a
// flag on frames the server masked. DialH2 opens an HTTP/2 connection on
// which each Dial is a WebSocket on a stream of its own (RFC 8441), with
// the same Conn. The conformance cases, the adapters' tests and the
// examples' tests speak to servers through it.
package rawclient
