// Package wire holds what the echo servers and the load generator agree on
// beyond RFC 6455.
//
// In the broadcast scenario every server adds a new connection to its set
// first and then sends it Welcome, a binary message. A client that has read
// Welcome knows it will receive every broadcast from then on, so the load
// generator never has to guess when all its connections are registered.
// After that, every data message a connection sends is broadcast to all
// connections, the sender included, with the opcode it came with.
package wire

// Welcome is the payload of the message that tells a client it is
// registered for broadcasts.
const Welcome = "ready"

// WelcomeFrame is Welcome as one unmasked binary frame, for servers that
// write frames themselves (the plain TCP floor and gobwas/ws).
var WelcomeFrame = append([]byte{0x82, byte(len(Welcome))}, Welcome...)
