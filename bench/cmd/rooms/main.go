// Command rooms measures a room's fan-out across nodes: 1,000 members of
// one room spread over three gws nodes on one NATS server, against the
// same room on one node, with the sender on the first node. It reports
// messages delivered per second and per second of server CPU (the nodes'
// and the broker's together) and the time from sending a message to its
// arrival at the last member (p50, p99).
//
//	go run ./bench/cmd/rooms                 # 3 repetitions of 3 s: about two minutes
//	go run ./bench/cmd/rooms -reps 1 -duration 1s
//
// Every server process (the nodes and nats-server) is pinned to CPU 0 and
// the load generator to CPU 1, as in cmd/run, so CPU time is comparable
// between the two set-ups. Everything runs on 127.0.0.1 and stops by
// itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
	"github.com/gwsgo/gws/bench/internal/proc"
)

// setup is one way to serve the room.
type setup struct {
	name  string
	nodes int // 1: one node alone; more: nodes on nats-server
}

var setups = []setup{{"one node", 1}, {"3 nodes + NATS", 3}}

type config struct {
	reps             int
	warmup, duration time.Duration
	conns, size      int
	inflight         []int
	p                proc.Pinning
	bin              string
}

func main() {
	reps := flag.Int("reps", 3, "repetitions")
	duration := flag.Duration("duration", 3*time.Second, "measured window per run")
	warmup := flag.Duration("warmup", time.Second, "load before the window")
	conns := flag.Int("conns", 1000, "members of the room")
	size := flag.Int("size", 256, "payload bytes per message")
	inflight := flag.String("inflight", "1,4", "messages under way at once, comma-separated: one run each")
	serverCPU := flag.Int("server-cpu", 0, "CPU every server process is pinned to")
	loadCPU := flag.Int("load-cpu", 1, "CPU the load generator is pinned to")
	noPin := flag.Bool("no-pin", false, "do not pin processes to CPUs")
	flag.Parse()
	cfg := config{reps: *reps, warmup: *warmup, duration: *duration, conns: *conns, size: *size,
		p: proc.NewPinning(*serverCPU, *loadCPU, *noPin)}
	for _, s := range strings.Split(*inflight, ",") {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 {
			fatal(fmt.Errorf("-inflight %q", *inflight))
		}
		cfg.inflight = append(cfg.inflight, k)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "gws-rooms-bench")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		"github.com/gwsgo/gws/bench/cmd/server", "github.com/gwsgo/gws/bench/cmd/load", "github.com/gwsgo/gws/bench/cmd/natsd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fatal(fmt.Errorf("go build: %w", err))
	}
	cfg.bin = dir
	if err := run(ctx, cfg); err != nil {
		fatal(err)
	}
}

// sample is one run's figures.
type sample struct {
	perSec, perCPU, cpu, p50, p99, loadCPU, other float64
}

func run(ctx context.Context, cfg config) error {
	results := map[string][]sample{} // by setup name and in-flight count
	key := func(s setup, k int) string { return fmt.Sprintf("%s/%d", s.name, k) }
	began := time.Now()
	for rep := range cfg.reps {
		order := slices.Clone(setups)
		if rep%2 == 1 {
			slices.Reverse(order) // so that a machine that gets busier favours neither
		}
		for _, k := range cfg.inflight {
			for _, s := range order {
				fmt.Fprintf(os.Stderr, "rep %d/%d: %s, %d in flight\n", rep+1, cfg.reps, s.name, k)
				r, err := runOne(ctx, cfg, s, k)
				if err != nil {
					return fmt.Errorf("%s, %d in flight: %w", s.name, k, err)
				}
				results[key(s, k)] = append(results[key(s, k)], sample{
					perSec:  float64(r.Ops) / r.Seconds,
					perCPU:  float64(r.Ops) / r.ServerCPU,
					cpu:     r.ServerCPU,
					p50:     r.LatencyP50,
					p99:     r.LatencyP99,
					loadCPU: r.ClientCPU / r.Seconds,
					other:   r.OtherCPU / r.Seconds,
				})
			}
		}
	}
	fmt.Printf("Room fan-out: %d members, %d B messages, one sender on the first node; %d repetitions of %v (medians), %v in all. ",
		cfg.conns, cfg.size, cfg.reps, cfg.duration, time.Since(began).Round(time.Second))
	if cfg.p.Taskset != "" {
		fmt.Printf("Every server process on CPU %d, the load generator on CPU %d.\n\n", cfg.p.ServerCPU, cfg.p.LoadCPU)
	} else {
		fmt.Printf("Not pinned.\n\n")
	}
	fmt.Println("| set-up | in flight | deliveries/s | deliveries per server CPU-s | server CPU s | p50 to the last member | p99 | load CPU | others on the servers' CPU |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, k := range cfg.inflight {
		for _, s := range setups {
			m := median(results[key(s, k)])
			fmt.Printf("| %s | %d | %.0f | %.0f | %.2f | %s | %s | %.0f %% | %.0f %% |\n", s.name, k, m.perSec, m.perCPU, m.cpu, ms(m.p50), ms(m.p99), 100*m.loadCPU, 100*m.other)
		}
	}
	fmt.Println()
	fmt.Println("| in flight | cross-node ÷ one node, deliveries per CPU-s (target ≥ 0.7) | p99 cross-node ÷ one node (target ≤ 2) |")
	fmt.Println("|---|---|---|")
	for _, k := range cfg.inflight {
		one, three := median(results[key(setups[0], k)]), median(results[key(setups[1], k)])
		fmt.Printf("| %d | %.2f× | %.2f× |\n", k, three.perCPU/one.perCPU, three.p99/one.p99)
	}
	return nil
}

// runOne starts fresh servers for s, puts the load on them and stops them.
func runOne(ctx context.Context, cfg config, s setup, inflight int) (loadgen.Result, error) {
	serverBin := filepath.Join(cfg.bin, "server")
	args := []string{"-lib", "gws", "-addr", "127.0.0.1:0", "-mode", "room"}
	var others []*proc.Server
	defer func() {
		for _, o := range others {
			o.Stop()
		}
	}()
	if s.nodes > 1 {
		nats, err := proc.StartServer(ctx, cfg.p, filepath.Join(cfg.bin, "natsd"), "-addr", "127.0.0.1:0")
		if err != nil {
			return loadgen.Result{}, err
		}
		others = append(others, nats)
		args = append(args, "-broker", "nats://"+nats.Addr)
	}
	first, err := proc.StartServer(ctx, cfg.p, serverBin, args...)
	if err != nil {
		return loadgen.Result{}, err
	}
	defer first.Stop()
	var addrs, pids []string
	for _, o := range others {
		pids = append(pids, strconv.Itoa(o.PID()))
	}
	for range s.nodes - 1 {
		n, err := proc.StartServer(ctx, cfg.p, serverBin, args...)
		if err != nil {
			return loadgen.Result{}, err
		}
		others = append(others, n)
		addrs = append(addrs, n.Addr)
		pids = append(pids, strconv.Itoa(n.PID()))
	}
	r, err := proc.RunLoad(ctx, cfg.p, filepath.Join(cfg.bin, "load"), cfg.warmup+cfg.duration+90*time.Second,
		"-addr", first.Addr, "-addrs", strings.Join(addrs, ","), "-mode", loadgen.ModeBroadcast,
		"-conns", strconv.Itoa(cfg.conns), "-inflight", strconv.Itoa(inflight), "-size", strconv.Itoa(cfg.size),
		"-warmup", cfg.warmup.String(), "-duration", cfg.duration.String(),
		"-pid", strconv.Itoa(first.PID()), "-pids", strings.Join(pids, ","))
	if err == nil && r.Errors > 0 {
		err = fmt.Errorf("%d errors, first: %s", r.Errors, r.FirstError)
	}
	return r, err
}

// median takes each figure's median on its own.
func median(ss []sample) sample {
	pick := func(f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		if len(v) == 0 {
			return 0
		}
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return sample{
		perSec:  pick(func(s sample) float64 { return s.perSec }),
		perCPU:  pick(func(s sample) float64 { return s.perCPU }),
		cpu:     pick(func(s sample) float64 { return s.cpu }),
		p50:     pick(func(s sample) float64 { return s.p50 }),
		p99:     pick(func(s sample) float64 { return s.p99 }),
		loadCPU: pick(func(s sample) float64 { return s.loadCPU }),
		other:   pick(func(s sample) float64 { return s.other }),
	}
}

func ms(sec float64) string { return fmt.Sprintf("%.2f ms", sec*1e3) }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "rooms:", err)
	os.Exit(1)
}
