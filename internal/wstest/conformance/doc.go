// Package conformance is an Autobahn|Testsuite-style conformance suite for
// WebSocket servers and clients (RFC 6455, RFC 7692).
//
// The driver plays Autobahn's fuzzing client against a server that echoes
// every text and binary message back unchanged, with the same opcode. Its
// cases are those of Autobahn's sections 1 (framing), 2 (pings and pongs),
// 3 (reserved bits), 4 (opcodes), 5 (fragmentation), 6 (UTF-8), 7 (close
// handling), 10 (automatic fragmentation), 12 and 13 (permessage-deflate,
// RFC 7692), with Autobahn's case numbers, written from the public case
// descriptions and the RFCs. Each case passes only where Autobahn would
// grade the server OK, and it is stricter than Autobahn where Autobahn's
// grading is lenient:
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
//   - every frame the server sends is checked: unmasked, no reserved bits
//     but RSV1 on the first frame of a compressed message, no reserved
//     opcodes, control frames short and unfragmented, text valid UTF-8,
//     close payloads well formed;
//   - every handshake answer is checked: no Sec-WebSocket-Extensions the
//     client did not offer (RFC 6455, section 9.1).
//
// # Compression: sections 12 and 13
//
// Section 12 sends messages of 18 sizes and fragmentations (16 bytes to
// 128 KiB, one frame or frames of 256 bytes to 32 KiB) from five corpora
// (12.1 JSON, 12.2 a bitmap, 12.3 German verse sent as binary, 12.4 HTML,
// 12.5 a PDF), compressed under Autobahn's default offer
// ("permessage-deflate; client_no_context_takeover; client_max_window_bits"),
// one message at a time, each echo awaited before the next. Autobahn's
// data files are not shipped: the corpora are generated from a fixed seed,
// of the files' sizes and kinds, so that they compress alike. Section 13
// sends the JSON corpus at the same sizes under other offers: 13.1–13.7 are
// Autobahn's (server_no_context_takeover, server_max_window_bits 8 and 15,
// both, three offers in one header); the driver adds 13.8 (a bare
// "permessage-deflate", under which the client keeps its compression
// context unless the server answers client_no_context_takeover), 13.9
// (server_max_window_bits=9), 13.10 (client_max_window_bits=9), 13.11
// (nine offers RFC 7692, section 5 says a server must decline: windows out
// of range or with a leading zero, parameters repeated, unknown or with a
// value they do not take, an unknown extension) and 13.12 (headers whose
// first acceptable offer is not the first, over one or several lines, and a
// quoted value).
//
// A server that declines compression fails sections 12 and 13 (Autobahn
// grades it UNIMPLEMENTED). Where it accepts, its answer must be a valid
// acceptance of one of the offers (RFC 7692, sections 5 and 7): known
// parameters only, once each, windows 8–15 without leading zeros,
// server_no_context_takeover and server_max_window_bits answered when
// offered (with no larger window), client_max_window_bits only when
// offered. The client then keeps to the agreement: it compresses every
// message with compress/flate, keeps its context between messages unless
// the answer or its own offer rules that out, and under a client window
// below 2^15 compresses each window-sized piece afresh, so that no
// back-reference reaches farther. What the server sends must inflate
// under the agreement: RSV1 on the first frame only, no back-reference
// farther than the agreed window (checked by walking the DEFLATE stream,
// which compress/flate does not report), none into earlier messages after
// server_no_context_takeover. The server may send any message
// uncompressed.
//
// Autobahn sends 1000 messages in every case of sections 12 and 13, about
// 11 GB in all, which takes many minutes even on loopback. The driver
// sends the real sizes but scales the counts: a case sends at most
// messageBudget (32 KiB) in all, so 1000 messages of 16 bytes, 512 of 64,
// 128 of 256, and so on down to 2 of 16 KiB and above, never fewer than 2,
// so that every case still carries context from one message to the next.
// Sections 12 and 13 then take under 2 s against a local server, and
// 15–30 s when server and driver run under the race detector on two busy
// cores (compress/flate is slow when instrumented).
//
// Use it from a test that starts the server under test:
//
//	func TestAutobahn(t *testing.T) {
//		defer leak.VerifyNone(t)
//		srv := httptest.NewServer(echoHandler) // echoes every message, compresses
//		defer srv.Close()
//		conformance.Run(t, srv.Listener.Addr().String(), "/ws", conformance.Cases())
//	}
//
// Run runs each case as a subtest named by its ID, so one case or section
// can be picked with go test -run 'TestAutobahn/6.4' and the like, and
// Cases(6, 7) selects sections: Cases(1, 2, 3, 4, 5, 6, 7, 10) all but the
// compression cases, for a server that does not compress. Case.Check runs
// one case and returns its outcome as an error, for callers that grade it
// themselves. The 247 cases of sections 1–7 and 10 take about a second
// against a local server, race detector included. PerformanceCases are
// section 9's large messages and round trips, with sizes that scale down
// for tests.
//
// The same cases test clients: Case.CheckClient plays a case from the
// server's end of a connection a client opened, with the roles swapped,
// which is what package fuzzserver serves under Autobahn's fuzzingserver
// protocol. The cases speak through package rawclient, whose frames are
// exactly what a case says to send.
package conformance
