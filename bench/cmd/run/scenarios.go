package main

import (
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
)

// scenario is one row group of the results: the same load against every
// library.
type scenario struct {
	Name     string // for -scenarios
	Title    string // for tables and the chart
	Mode     string
	Conns    int
	InFlight int
	Size     int
}

// unit is what the scenario's rate counts.
func (s scenario) unit() string {
	switch s.Mode {
	case loadgen.ModeConnRate:
		return "conn/s"
	case loadgen.ModeIdle:
		return "KB/conn"
	}
	return "msg/s"
}

var scenarios = []scenario{
	{Name: "echo-16B", Title: "Echo, 1,000 connections, 16 B", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 1, Size: 16},
	{Name: "echo-1KiB", Title: "Echo, 1,000 connections, 1 KiB", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 1, Size: 1 << 10},
	{Name: "echo-16KiB", Title: "Echo, 1,000 connections, 16 KiB", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 1, Size: 16 << 10},
	{Name: "pipelined-16B", Title: "Pipelined echo, 1,000 connections × 8 in flight, 16 B", Mode: loadgen.ModeEcho, Conns: 1000, InFlight: 8, Size: 16},
	{Name: "connrate", Title: "New connections (handshake + close), 32 at a time", Mode: loadgen.ModeConnRate, Conns: 32, Size: 16},
	{Name: "idle-10k", Title: "Idle memory, 10,000 connections after one 16 B echo each", Mode: loadgen.ModeIdle, Conns: 10000, Size: 16},
}

// timing is how long each part of a run lasts.
type timing struct {
	Reps     int
	Warmup   time.Duration
	Duration time.Duration
	Settle   time.Duration
}

var (
	fullTiming  = timing{Reps: 3, Warmup: 500 * time.Millisecond, Duration: 3 * time.Second, Settle: time.Second}
	quickTiming = timing{Reps: 2, Warmup: 200 * time.Millisecond, Duration: 800 * time.Millisecond, Settle: 500 * time.Millisecond}
)
