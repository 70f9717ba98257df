// Package wstest is the test machinery every gws module shares: an
// Autobahn|Testsuite-style conformance driver for WebSocket servers
// (RFC 6455), the raw client it is built on, and a goroutine-leak check.
//
// The driver plays Autobahn's fuzzing client against a server that echoes
// every text and binary message back unchanged, with the same opcode. Its
// cases are those of Autobahn's sections 1 (framing), 2 (pings and pongs),
// 3 (reserved bits), 4 (opcodes), 5 (fragmentation), 6 (UTF-8), 7 (close
// handling) and 10 (automatic fragmentation), with Autobahn's case numbers,
// written from the public case descriptions and RFC 6455. Each case passes
// only where Autobahn would grade the server OK, and it is stricter than
// Autobahn where Autobahn's grading is lenient:
//
//   - where a case expects the server to fail the connection with 1002 or
//     1007, the server must send a close frame with that code (Autobahn also
//     accepts no code, or a dropped TCP connection); only where the case's
//     description allows a dropped connection (7.3.2, 7.3.6, 7.5.1, 7.9.x,
//     7.13.x) is one accepted;
//   - after every closing handshake the server must close the TCP
//     connection itself, within 2 s;
//   - outcomes Autobahn grades NON-STRICT (such as detecting invalid UTF-8
//     only at the end of a message instead of at the first bad fragment,
//     6.4.x) are failures, reported with an error wrapping ErrNonStrict;
//   - every frame the server sends is checked: unmasked, no reserved bits,
//     no reserved opcodes, control frames short and unfragmented, text
//     valid UTF-8, close payloads well formed.
//
// Use it from a test that starts the server under test:
//
//	func TestAutobahn(t *testing.T) {
//		defer wstest.VerifyNone(t)
//		srv := httptest.NewServer(echoHandler) // echoes every message
//		defer srv.Close()
//		wstest.Run(t, srv.Listener.Addr().String(), "/ws", wstest.Cases())
//	}
//
// Run runs each case as a subtest named by its ID, so one case or section
// can be picked with go test -run 'TestAutobahn/6.4' and the like, and
// Cases(6, 7) selects sections. Case.Check runs one case and returns its
// outcome as an error, for callers that grade it themselves. All 247 cases
// take about a second against a local server, race detector included.
//
// RawConn, obtained from Dial, is the client the cases use: it performs the
// opening handshake itself and then writes frames exactly as given
// (reserved bits, reserved opcodes, any fragmentation, a single frame cut
// into pieces) and reads frames without interpreting them. Dial's extra
// headers, RawConn.Response and Frame.Rsv leave room for the
// permessage-deflate cases (RFC 7692, Autobahn's sections 12 and 13).
//
// VerifyNone and VerifyTestMain check that a test left no goroutines
// running, in the manner of go.uber.org/goleak but with no dependency.
package wstest
