package main

import (
	"fmt"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
	"github.com/gwsgo/gws/bench/servers"
)

// scenario is one row group of the results: the same load against every
// library that can take it.
type scenario struct {
	Name     string // for -scenarios
	Title    string // for tables and the chart; %s is the number of connections
	Mode     string
	Conns    int
	InFlight int
	Size     int
	Compress bool // permessage-deflate, JSON-like text
	// QuickConns replaces Conns with -quick, where 10,000 connections
	// would take most of the two minutes in setting them up.
	QuickConns int
}

func (s scenario) title() string { return fmt.Sprintf(s.Title, count(float64(s.Conns))) }

// unit is what the scenario's rate counts.
func (s scenario) unit() string {
	switch s.Mode {
	case loadgen.ModeConnRate:
		return "conn/s"
	case loadgen.ModeIdle:
		return "KB/conn"
	case loadgen.ModeBroadcast:
		return "bcast/s"
	}
	return "msg/s"
}

// supports reports whether lib has a server for the scenario.
func (s scenario) supports(lib string) bool {
	l, err := servers.Lookup(lib)
	if err != nil {
		return false
	}
	if s.Compress && !l.CanCompress || !s.Compress && l.CompressOnly || l.IdleOnly && s.Mode != loadgen.ModeIdle ||
		l.ConnRateOnly && s.Mode != loadgen.ModeConnRate {
		return false
	}
	return s.Mode != loadgen.ModeBroadcast || l.CanBroadcast
}

var scenarios = []scenario{
	{Name: "echo-16B", Title: "Echo, %s connections, 16 B", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 1, Size: 16},
	{Name: "echo-1KiB", Title: "Echo, %s connections, 1 KiB", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 1, Size: 1 << 10},
	{Name: "echo-16KiB", Title: "Echo, %s connections, 16 KiB", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 1, Size: 16 << 10},
	{Name: "pipelined-16B", Title: "Pipelined echo, %s connections × 8 in flight, 16 B", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 8, Size: 16},
	{Name: "broadcast-1k", Title: "Broadcast to %s connections, 16 B, 4 broadcasts under way", Mode: loadgen.ModeBroadcast, Conns: 1000, InFlight: 4, Size: 16},
	{Name: "broadcast-1k-single", Title: "Broadcast to %s connections, 256 B, one at a time (the next when all hold the last)", Mode: loadgen.ModeBroadcast, Conns: 1000, InFlight: 1, Size: 256},
	{Name: "broadcast-10k", Title: "Broadcast to %s connections, 16 B, 4 broadcasts under way", Mode: loadgen.ModeBroadcast, Conns: 10000, InFlight: 4, Size: 16, QuickConns: 1500},
	{Name: "deflate-1KiB", Title: "Echo with permessage-deflate, %s connections, 1 KiB of JSON", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 1, Size: 1 << 10, Compress: true},
	{Name: "deflate-16KiB", Title: "Echo with permessage-deflate, %s connections, 16 KiB of JSON", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 1, Size: 16 << 10, Compress: true},
	{Name: "connrate", Title: "New connections (handshake + close), %s at a time", Mode: loadgen.ModeConnRate, Conns: 32, Size: 16},
	{Name: "idle-10k", Title: "Idle memory, %s connections after one 16 B echo each", Mode: loadgen.ModeIdle, Conns: 10000, Size: 16, QuickConns: 1500},
}

// timing is how long each part of a run lasts.
type timing struct {
	Reps     int
	Warmup   time.Duration
	Duration time.Duration
	Settle   time.Duration
}

var (
	fullTiming = timing{Reps: 3, Warmup: 500 * time.Millisecond, Duration: 3 * time.Second, Settle: time.Second}
	// Short enough that the quick run, with every scenario and library,
	// stays near two minutes on 2 cores; the windows still hold tens of
	// thousands of messages.
	quickTiming = timing{Reps: 2, Warmup: 100 * time.Millisecond, Duration: 300 * time.Millisecond, Settle: 300 * time.Millisecond}
)
