// Package wstest is the root of the test machinery that the modules of
// this repository share; the machinery itself is in small packages, one
// per job:
//
//   - conformance: the Autobahn|Testsuite-style cases (sections 1–7, 9,
//     10, 12 and 13) and the driver that runs them against a server, or
//     from the server's end against a client;
//   - fuzzserver: Autobahn's fuzzing server, which serves those cases to
//     a WebSocket client under test;
//   - rawclient: a client that writes frames exactly as given and reads
//     them uninterpreted, for tests that send what no real client would;
//   - leak: the goroutine-leak check every test that opens connections
//     ends with;
//   - browser: headless Chromium driven over the DevTools protocol;
//   - nodejs: Node.js packages installed and their scripts run, for the
//     checks against Node's ws;
//   - routertest: the probes and checks every router adapter's tests
//     share.
//
// This package holds the one piece most of them need: Echo, the event
// handler of a server (or client) under test. The module is never
// published: only modules of this repository import it, from their tests
// and from test-only modules (adapters/NAME/test, brokers/test,
// observability/test), so that no published module requires it.
package wstest
