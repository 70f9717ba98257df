package main

import (
	"context"
	"strconv"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
	"github.com/gwsgo/gws/bench/internal/proc"
)

// startServer starts lib's server for sc on a free loopback port and waits
// until it listens.
func startServer(ctx context.Context, p proc.Pinning, bin, lib string, sc scenario) (*proc.Server, error) {
	args := []string{"-lib", lib, "-addr", "127.0.0.1:0"}
	if sc.Mode == loadgen.ModeBroadcast {
		args = append(args, "-mode", "broadcast")
	}
	if sc.Compress {
		args = append(args, "-compress")
	}
	return proc.StartServer(ctx, p, bin, args...)
}

// runLoad runs the load generator once against s and decodes its result.
func runLoad(ctx context.Context, p proc.Pinning, bin string, s *proc.Server, sc scenario, t timing, webSocket bool) (loadgen.Result, error) {
	args := []string{
		"-addr", s.Addr, "-mode", sc.Mode,
		"-conns", strconv.Itoa(sc.Conns), "-inflight", strconv.Itoa(max(sc.InFlight, 1)),
		"-size", strconv.Itoa(sc.Size),
		"-warmup", t.Warmup.String(), "-duration", t.Duration.String(), "-settle", t.Settle.String(),
		"-pid", strconv.Itoa(s.PID()),
	}
	if !webSocket {
		args = append(args, "-tcp")
	}
	if sc.Compress {
		args = append(args, "-compress")
	}
	// Generous: connecting 10,000 clients on a busy machine takes seconds.
	return proc.RunLoad(ctx, p, bin, t.Warmup+t.Duration+3*t.Settle+90*time.Second, args...)
}
