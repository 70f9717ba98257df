// Package fuzzserver plays Autobahn|Testsuite's fuzzing server, which
// tests WebSocket clients: New serves the conformance cases under the
// fuzzingserver protocol that Autobahn's testee clients speak (/getCaseCount,
// /runCase, /updateReports), plays each case from the server's end
// against the client under test, and Results reports what the client did
// in each. cmd/fuzzingserver is the same server as a command.
package fuzzserver
