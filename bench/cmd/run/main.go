// Command run is the benchmark runner. It builds the echo servers and the
// load generator, runs every scenario against every library in turn under the
// same load, each server in its own process pinned to one core and the load
// generator pinned to another, and prints medians with each library's ratio
// to gws and to lxzan/gws. It also writes results.md (for BENCHMARKS.md),
// chart.svg and the raw samples as results.json.
//
//	go run ./bench/cmd/run -quick
//	go run ./bench/cmd/run -libs gws,lxzan,gorilla -scenarios echo-16B,idle-10k
//
// Everything runs on 127.0.0.1 and stops by itself; servers are killed when
// the runner exits, fails or is interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
	"github.com/gwsgo/gws/bench/internal/proc"
	"github.com/gwsgo/gws/bench/servers"
)

func main() {
	quick := flag.Bool("quick", false, "short runs (2 repetitions of 0.8 s): about two minutes on 2 cores")
	libsFlag := flag.String("libs", "", "comma-separated libraries to run (default all: "+strings.Join(servers.Names(), ",")+")")
	scFlag := flag.String("scenarios", "", "comma-separated scenarios to run (default all: "+strings.Join(scenarioNames(), ",")+")")
	reps := flag.Int("reps", 0, "repetitions (default 3, or 2 with -quick)")
	dur := flag.Duration("duration", 0, "measured window per run (default 3s, or 0.8s with -quick)")
	out := flag.String("out", "", "directory for results.md, chart.svg and results.json (default bench/results)")
	chart := flag.String("chart", "", "also write the chart to this file (BENCHMARKS.md shows docs/bench-chart.svg)")
	render := flag.String("render", "", "run nothing: print the tables and write results.md and the chart again from this results.json")
	serverCPU := flag.Int("server-cpu", 0, "CPU the servers are pinned to")
	loadCPU := flag.Int("load-cpu", 1, "CPU the load generator is pinned to")
	noPin := flag.Bool("no-pin", false, "do not pin processes to CPUs")
	flag.Parse()

	t := fullTiming
	if *quick {
		t = quickTiming
	}
	if *reps > 0 {
		t.Reps = *reps
	}
	if *dur > 0 {
		t.Duration = *dur
	}
	libs, err := pick(*libsFlag, servers.Names(), "library")
	if err != nil {
		fatal(err)
	}
	scNames, err := pick(*scFlag, scenarioNames(), "scenario")
	if err != nil {
		fatal(err)
	}
	var scs []scenario
	for _, sc := range scenarios {
		if slices.Contains(scNames, sc.Name) {
			if *quick && sc.QuickConns > 0 {
				sc.Conns = sc.QuickConns
			}
			scs = append(scs, sc)
		}
	}

	if *render != "" {
		if err := rerender(*render, *out, *chart); err != nil {
			fatal(err)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, runConfig{libs: libs, scenarios: scs, timing: t, out: *out, chart: *chart, quick: *quick,
		serverCPU: *serverCPU, loadCPU: *loadCPU, noPin: *noPin}); err != nil {
		stop()
		fatal(err)
	}
}

type runConfig struct {
	libs               []string
	scenarios          []scenario
	timing             timing
	out, chart         string
	quick, noPin       bool
	loadBefore         string // /proc/loadavg when the runs began
	serverCPU, loadCPU int
}

func run(ctx context.Context, rc runConfig) error {
	need := 0
	for _, sc := range rc.scenarios {
		need = max(need, sc.Conns)
	}
	if err := raiseFileLimit(need); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gws-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "building server and load generator…")
	serverBin, loadBin := filepath.Join(dir, "server"), filepath.Join(dir, "load")
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if tags := buildTags(); tags != "" {
		// The same tags the runner was built with (-tags nogws leaves
		// gws out while core does not build), so both agree on the list.
		args = append(args, "-tags", tags)
	}
	args = append(args, "github.com/gwsgo/gws/bench/cmd/server", "github.com/gwsgo/gws/bench/cmd/load")
	build := exec.CommandContext(ctx, "go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	if rc.out == "" {
		rc.out = defaultOutDir()
	}

	p := proc.NewPinning(rc.serverCPU, rc.loadCPU, rc.noPin)

	res := newResults(rc.libs, rc.scenarios)
	rc.loadBefore = loadAvg()
	began := time.Now()
	total := 0
	for _, sc := range rc.scenarios {
		total += rc.timing.Reps * len(res.libsFor(sc))
	}
	done := 0
	for rep := range rc.timing.Reps {
		// Every other repetition runs the libraries in reverse, so that a
		// machine that slows down or speeds up during the run favours
		// no one.
		order := slices.Clone(rc.libs)
		if rep%2 == 1 {
			slices.Reverse(order)
		}
		for _, sc := range rc.scenarios {
			for _, lib := range order {
				if !sc.supports(lib) {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				done++
				t0 := time.Now()
				r, err := runOne(ctx, p, serverBin, loadBin, lib, sc, rc.timing)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				res.add(sc.Name, lib, r, err)
				fmt.Fprintf(os.Stderr, "[%d/%d] rep %d %-13s %-9s %s (%.1f s)\n", done, total, rep+1, sc.Name, lib,
					describe(sc, r, err), time.Since(t0).Seconds())
			}
		}
	}
	elapsed := time.Since(began)

	head := header(rc, p, elapsed)
	if err := write(res, head, rc.out, rc.chart, true); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "(%s in all)\n", elapsed.Round(time.Second))
	return nil
}

// write prints the tables and writes results.md, chart.svg and, for a
// fresh run, results.json to out, and the chart to chart if it is set.
func write(res *results, head, out, chart string, raw bool) error {
	md := res.markdown(head)
	fmt.Print(md)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"results.md": []byte(md),
		"chart.svg":  res.svg(),
	}
	if raw {
		files["results.json"] = res.json(head)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", filepath.Join(out, name))
	}
	if chart != "" {
		if err := os.WriteFile(chart, files["chart.svg"], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", chart)
	}
	return nil
}

// rerender prints a saved run's tables again, with the code's current
// formatting, without running anything.
func rerender(path, out, chart string) error {
	res, head, err := load(path)
	if err != nil {
		return err
	}
	if out == "" {
		// Not next to path: rendering docs/bench-results.json must not
		// leave results.md and chart.svg in docs/.
		out = defaultOutDir()
	}
	return write(res, head, out, chart, false)
}

// runOne starts a fresh server (so that no run inherits another's heap or
// goroutines), puts the scenario's load on it and stops it.
func runOne(ctx context.Context, p proc.Pinning, serverBin, loadBin, lib string, sc scenario, t timing) (loadgen.Result, error) {
	l, err := servers.Lookup(lib)
	if err != nil {
		return loadgen.Result{}, err
	}
	s, err := startServer(ctx, p, serverBin, lib, sc)
	if err != nil {
		return loadgen.Result{}, err
	}
	defer s.Stop()
	r, err := runLoad(ctx, p, loadBin, s, sc, t, l.WebSocket)
	if err == nil && r.Errors > 0 {
		err = fmt.Errorf("%d errors, first: %s", r.Errors, r.FirstError)
	}
	return r, err
}

// raiseFileLimit lifts the open-file limit, which the servers and the load
// generator inherit, high enough for conns connections on each side.
func raiseFileLimit(conns int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	want := uint64(conns + 1024)
	if lim.Max < want {
		// Only root may raise the hard limit; try, and fall back.
		up := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return nil
		}
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur < want {
		return fmt.Errorf("open-file limit %d is below the %d that %d connections need: raise it (ulimit -n) or run fewer scenarios", lim.Cur, want, conns)
	}
	return nil
}

// buildTags returns the -tags the runner itself was built with.
func buildTags() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-tags" {
				return s.Value
			}
		}
	}
	return ""
}

// defaultOutDir is bench/results, found through the go command so that it
// does not depend on where the runner is started from.
func defaultOutDir() string {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "github.com/gwsgo/gws/bench/cmd/run").Output()
	if err != nil {
		return "bench-results"
	}
	return filepath.Join(strings.TrimSpace(string(out)), "..", "..", "results")
}

func scenarioNames() []string {
	var n []string
	for _, sc := range scenarios {
		n = append(n, sc.Name)
	}
	return n
}

// pick parses a comma-separated selection from known, keeping known's order.
func pick(sel string, known []string, what string) ([]string, error) {
	if sel == "" {
		return known, nil
	}
	want := strings.Split(sel, ",")
	for _, w := range want {
		if !slices.Contains(known, strings.TrimSpace(w)) {
			return nil, fmt.Errorf("unknown %s %q (known: %s)", what, w, strings.Join(known, ", "))
		}
	}
	var out []string
	for _, k := range known {
		if slices.ContainsFunc(want, func(w string) bool { return strings.TrimSpace(w) == k }) {
			out = append(out, k)
		}
	}
	return out, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "run:", err)
	os.Exit(1)
}
