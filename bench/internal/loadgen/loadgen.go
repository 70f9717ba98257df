// Package loadgen is the load generator: a WebSocket client reduced to what
// costs least, so that what a run measures is the server. It writes frames
// encoded and masked once before the load starts, reads replies into one
// reusable buffer per connection and only counts them, and keeps several
// messages in flight per connection when asked. It also samples the server's
// CPU time and memory from /proc at the edges of the measured window.
package loadgen

import (
	"errors"
	"fmt"
	"time"
)

// Modes of a run.
const (
	ModeEcho     = "echo"     // Conns connections, each keeping InFlight messages of Size bytes in flight
	ModeConnRate = "connrate" // Conns workers, each opening, handshaking and closing connections in a loop
	ModeIdle     = "idle"     // Conns connections opened, one echo each, then left idle while memory is read

	// ModeBroadcast: Conns connections; the first sends messages and the
	// server sends each to every connection, the sender included. InFlight
	// broadcasts are kept under way; one counts when every connection has
	// received it. See package wire for what the server must do.
	// Ops counts messages delivered, Conns per broadcast.
	ModeBroadcast = "broadcast"
)

// Config is one run of the load generator against one server.
type Config struct {
	Addr      string // server address, loopback
	Mode      string
	WebSocket bool // false for the plain TCP echo: same bytes, no handshake check
	Conns     int
	InFlight  int // messages in flight per connection (echo)
	Size      int // payload bytes per message
	Text      bool
	// Compress offers permessage-deflate with no context takeover and
	// sends Size bytes of JSON-like text as a compressed text message
	// (compressed once, before the load starts).
	Compress  bool
	Warmup    time.Duration // load before the measured window, not counted
	Duration  time.Duration // the measured window
	Settle    time.Duration // idle: wait before reading memory, so the server's state is at rest
	ServerPID int           // process whose CPU time and memory are sampled; 0 for none

	// Addrs are more servers, the nodes of one cluster (broadcast):
	// connection i goes to the i%n-th of Addr and Addrs, so the sender,
	// connection 0, is on Addr.
	Addrs []string
	// OtherPIDs are more processes whose CPU time counts as the server's:
	// the other nodes of a cluster and its broker.
	OtherPIDs []int

	// DialParallel bounds concurrent dials while connections are set up.
	DialParallel int
}

// Result is what a run measured. Ops are echoed messages (echo), messages
// delivered (broadcast: Conns per broadcast), completed connections
// (connrate) or open connections (idle).
type Result struct {
	Ops       int64   `json:"ops"`
	Seconds   float64 `json:"seconds"`    // length of the measured window
	ServerCPU float64 `json:"server_cpu"` // server CPU seconds (user+system) in the window
	// OtherCPU is the CPU time that everything but the server used on the
	// server's CPU in the window, and Steal the time the hypervisor took
	// from it; both stay 0 if the server is not pinned to one CPU.
	OtherCPU   float64 `json:"other_cpu"`
	Steal      float64 `json:"steal"`
	ClientCPU  float64 `json:"client_cpu"`  // the load generator's own CPU seconds in the window
	ServerRSS  int64   `json:"server_rss"`  // server resident memory at the end, bytes
	BaseRSS    int64   `json:"base_rss"`    // server resident memory before the measured connections, bytes
	SetupSecs  float64 `json:"setup_secs"`  // time to open and check every connection
	ReplyBytes int64   `json:"reply_bytes"` // size on the wire of the first reply checked (echo)
	Errors     int64   `json:"errors"`      // connections or iterations that failed in the window
	// LatencyP50 and LatencyP99 are the median and 99th percentile, in
	// seconds, over those completed in the window, of the time from sending
	// a broadcast to its arrival at the last connection, and in echo of a
	// message's round trip (from the write that sent it to the read that
	// brought its echo back).
	LatencyP50 float64 `json:"latency_p50,omitempty"`
	LatencyP99 float64 `json:"latency_p99,omitempty"`
	FirstError string  `json:"first_error"` // the first of them, to say why
}

// Run performs one run.
func Run(cfg Config) (Result, error) {
	if cfg.Conns <= 0 {
		return Result{}, errors.New("conns must be positive")
	}
	if cfg.DialParallel <= 0 {
		cfg.DialParallel = 64
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 1
	}
	switch cfg.Mode {
	case ModeEcho:
		return runEcho(cfg)
	case ModeConnRate:
		return runConnRate(cfg)
	case ModeIdle:
		return runIdle(cfg)
	case ModeBroadcast:
		return runBroadcast(cfg)
	}
	return Result{}, fmt.Errorf("unknown mode %q", cfg.Mode)
}

// window samples the counters that bracket a measured window.
type window struct {
	pid           int
	others        []int
	t0            time.Time
	srv0, cli0    float64
	cpu           int // the server's one CPU, or -1
	busy0, steal0 float64
}

func startWindow(cfg Config) (window, error) {
	pid := cfg.ServerPID
	w := window{pid: pid, others: cfg.OtherPIDs, t0: time.Now(), cli0: selfCPU(), cpu: -1}
	if pid > 0 {
		cpu, err := w.serverCPU()
		if err != nil {
			return w, err
		}
		w.srv0 = cpu
		if w.cpu = PinnedCPU(pid); w.cpu >= 0 {
			// Best effort: the figures only explain noise.
			w.busy0, w.steal0, _ = CPUTimes(w.cpu)
		}
	}
	return w, nil
}

// end fills the window's part of r.
func (w window) end(r *Result) error {
	r.Seconds = time.Since(w.t0).Seconds()
	r.ClientCPU = selfCPU() - w.cli0
	if w.pid <= 0 {
		return nil
	}
	cpu, err := w.serverCPU()
	if err != nil {
		return err
	}
	r.ServerCPU = cpu - w.srv0
	if w.cpu >= 0 {
		if busy, steal, err := CPUTimes(w.cpu); err == nil {
			r.OtherCPU = max(busy-w.busy0-r.ServerCPU, 0)
			r.Steal = steal - w.steal0
		}
	}
	rss, err := ProcRSS(w.pid)
	if err != nil {
		return err
	}
	r.ServerRSS = rss
	return nil
}

// serverCPU is the CPU time of the server's processes.
func (w window) serverCPU() (float64, error) {
	total := 0.0
	for _, pid := range append([]int{w.pid}, w.others...) {
		cpu, err := ProcCPU(pid)
		if err != nil {
			return 0, err
		}
		total += cpu
	}
	return total, nil
}
