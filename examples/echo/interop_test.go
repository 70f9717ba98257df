package main

import (
	"errors"
	"maps"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/nodejs"
)

// TestInterop runs interop/ws_client.mjs against the echo server on every
// router: checks made with the client of the ws package (Node.js), which
// shares no code with gws and inflates with zlib, so that the project's own
// Autobahn-style driver is not the only judge. Each router is checked as
// `go run ./examples/echo -router NAME` serves, and with -compress.
//
// Context takeover is off in -compress, so it gets a run of its own with
// both directions kept, and so does -codec klauspost; those paths are all
// core's, so one router is enough.
//
// In poller mode (-poller) the client runs against every router, whose
// connections the poller takes over each in its own way, and with
// compression and context takeover on net/http alone.
//
// Without node and npm the test skips, except under CI=true, where it
// fails: a CI machine without them would otherwise pass without checking.
func TestInterop(t *testing.T) {
	node, dir := interopClient(t)
	modes := []struct {
		suffix                     string
		compress, takeover, poller bool
		codec                      string
	}{
		{"", false, false, false, "std"},
		{"/compress", true, false, false, "std"},
		{"/compress-takeover", true, true, false, "std"},
		{"/compress-klauspost", true, false, false, "klauspost"},
		{"/compress-takeover-klauspost", true, true, false, "klauspost"},
		{"/poller", false, false, true, "std"},
		{"/poller-compress-takeover", true, true, true, "std"},
	}
	for _, name := range slices.Sorted(maps.Keys(routers)) {
		for _, mode := range modes {
			if (mode.takeover || mode.codec != "std") && name != "nethttp" {
				continue
			}
			t.Run(name+mode.suffix, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				u := newUpgrader()
				u.ServerOptions.CompressEnabled = mode.compress
				u.ServerOptions.ServerContextTakeover = mode.takeover
				u.ServerOptions.ClientContextTakeover = mode.takeover
				u.ServerOptions.CompressCodec = codecs[mode.codec]
				u.ServerOptions.Poller = mode.poller
				done := make(chan error, 1)
				go func() { done <- routers[name](ln, u, wstest.Echo{}) }()
				defer func() {
					ln.Close()
					if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
						t.Errorf("server: %v", err)
					}
				}()
				var args []string
				if mode.compress {
					args = append(args, "--compress")
				}
				nodejs.RunScript(t, node, dir, 90*time.Second, "ws_client.mjs", append(args, "ws://"+ln.Addr().String()+"/interop")...)
			})
		}
	}
}

// interopClient returns the node binary and a folder holding the client
// with its locked dependencies installed.
func interopClient(t *testing.T) (node, dir string) {
	t.Helper()
	return nodejs.Package(t, "interop", "the ws (Node.js) interop check")
}
