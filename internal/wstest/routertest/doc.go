// Package routertest is what the router adapters' tests share. Every
// adapter hands gws a connection taken from a router that pools its
// contexts and buffers, and every one must prove the same things about
// it: that messages echo, that a frame sent right behind the handshake is
// not lost, that rejected handshakes are plain HTTP responses, that values
// the router attached to the request survive the router's reuse of its
// context. The probes and checks live here, and each adapter's test
// module (adapters/NAME/test) keeps only how its router is set up.
package routertest
