package servers_test

import (
	"net"
	"testing"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
	"github.com/gwsgo/gws/bench/servers"
)

// Every server, in every mode it offers, must pass the load generator's
// checks (the first echo or broadcast byte for byte, framing and opcodes
// after that) and keep going under a short load.
func TestServersUnderLoad(t *testing.T) {
	type mode struct {
		name string
		o    servers.Options
		cfg  loadgen.Config
	}
	modes := []mode{
		{"echo", servers.Options{}, loadgen.Config{Mode: loadgen.ModeEcho, Conns: 20, InFlight: 2, Size: 300}},
		{"broadcast", servers.Options{Broadcast: true}, loadgen.Config{Mode: loadgen.ModeBroadcast, Conns: 20, InFlight: 4, Size: 16}},
		{"deflate", servers.Options{Compress: true}, loadgen.Config{Mode: loadgen.ModeEcho, Conns: 20, InFlight: 1, Size: 4 << 10, Compress: true}},
	}
	for _, name := range servers.Names() {
		l, err := servers.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range modes {
			if m.o.Broadcast && !l.CanBroadcast || m.o.Compress && !l.CanCompress {
				continue
			}
			t.Run(name+"/"+m.name, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				go l.Serve(ln, m.o)
				cfg := m.cfg
				cfg.Addr = ln.Addr().String()
				cfg.WebSocket = l.WebSocket
				cfg.Warmup, cfg.Duration = 20*time.Millisecond, 100*time.Millisecond
				r, err := loadgen.Run(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if r.Errors > 0 {
					t.Fatalf("%d errors, first: %s", r.Errors, r.FirstError)
				}
				if r.Ops == 0 {
					t.Fatal("no messages in the window")
				}
				if m.o.Compress && r.ReplyBytes >= int64(cfg.Size) {
					t.Errorf("reply of %d bytes for %d bytes of JSON: not compressed", r.ReplyBytes, cfg.Size)
				}
			})
		}
	}
}
