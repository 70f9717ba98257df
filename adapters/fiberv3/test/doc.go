// Package test holds the tests of gwsfiberv3 that use the repository's
// shared test machinery (internal/wstest): the conformance cases, the
// checks every router adapter passes, the goroutine-leak check. It is a
// module of its own that is never published, so that the adapter's go.mod
// names only core, the fasthttp adapter and Fiber v3: whoever fetches the
// adapter fetches nothing its tests need. The adapter's runnable examples
// stay in the adapter.
package test
