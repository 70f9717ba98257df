package servers_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
	"github.com/gwsgo/gws/bench/servers"
	natsserver "github.com/nats-io/nats-server/v2/server"
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
		{"connrate", servers.Options{}, loadgen.Config{Mode: loadgen.ModeConnRate, Conns: 4, Size: 16}},
	}
	for _, name := range servers.Names() {
		l, err := servers.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range modes {
			if m.o.Broadcast && !l.CanBroadcast || m.o.Compress && !l.CanCompress ||
				l.ConnRateOnly && m.cfg.Mode != loadgen.ModeConnRate {
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

// TestGwsRoom runs the room scenario's servers: one node alone, and three
// nodes on an embedded nats-server with the connections spread over them.
func TestGwsRoom(t *testing.T) {
	l, err := servers.Lookup("gws")
	if err != nil {
		t.Skip(err) // built with -tags nogws
	}
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprint(nodes, "nodes"), func(t *testing.T) {
			o := servers.Options{Room: true}
			if nodes > 1 {
				o.Broker = ns.ClientURL()
			}
			var addrs []string
			for range nodes {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				go l.Serve(ln, o)
				addrs = append(addrs, ln.Addr().String())
			}
			cfg := loadgen.Config{Mode: loadgen.ModeBroadcast, WebSocket: true, Conns: 30, InFlight: 2, Size: 256,
				Addr: addrs[0], Addrs: addrs[1:], Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond}
			r, err := loadgen.Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Errors > 0 || r.Ops == 0 || r.LatencyP50 <= 0 || r.LatencyP99 < r.LatencyP50 {
				t.Fatalf("%d errors (first: %s), %d deliveries, latency p50 %v p99 %v", r.Errors, r.FirstError, r.Ops, r.LatencyP50, r.LatencyP99)
			}
		})
	}
}
