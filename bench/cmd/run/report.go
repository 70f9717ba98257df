package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
	"github.com/gwsgo/gws/bench/internal/proc"
	"github.com/gwsgo/gws/bench/servers"
)

// sample is one run, with the figures the tables show derived from it.
type sample struct {
	loadgen.Result
	Err string `json:"err,omitempty"`
}

// stats are the medians of one library in one scenario.
type stats struct {
	n          int     // successful runs
	failed     int     // failed runs
	lastErr    string  // why the last failure failed
	rate       float64 // ops per second of wall time
	perCPU     float64 // ops per second of server CPU time
	cpu        float64 // server CPU seconds in the window
	loadPct    float64 // load generator CPU, % of one core
	rssPerConn float64 // bytes: (server RSS − RSS before connecting) ÷ connections
	setupRate  float64 // connections opened and checked per second (idle)
	replyBytes float64 // size of a reply on the wire (compression)
	p50, p99   float64 // broadcast fan-out latency, seconds
}

type results struct {
	libs      []string
	scenarios []scenario
	samples   map[string]map[string][]sample // scenario → library → runs
}

func newResults(libs []string, scs []scenario) *results {
	r := &results{libs: libs, scenarios: scs, samples: map[string]map[string][]sample{}}
	for _, sc := range scs {
		r.samples[sc.Name] = map[string][]sample{}
	}
	return r
}

func (r *results) add(sc, lib string, res loadgen.Result, err error) {
	s := sample{Result: res}
	if err != nil {
		s.Err = err.Error()
	}
	r.samples[sc][lib] = append(r.samples[sc][lib], s)
}

func (r *results) stats(sc scenario, lib string) stats {
	var st stats
	var rate, perCPU, cpu, load, rss, setup, reply, p50, p99 []float64
	for _, s := range r.samples[sc.Name][lib] {
		if s.Err != "" {
			st.failed++
			st.lastErr = s.Err
			continue
		}
		st.n++
		if s.Seconds > 0 {
			rate = append(rate, float64(s.Ops)/s.Seconds)
			load = append(load, 100*s.ClientCPU/s.Seconds)
		}
		if s.ServerCPU > 0 {
			perCPU = append(perCPU, float64(s.Ops)/s.ServerCPU)
		}
		cpu = append(cpu, s.ServerCPU)
		if sc.Conns > 0 && s.BaseRSS > 0 {
			rss = append(rss, float64(s.ServerRSS-s.BaseRSS)/float64(sc.Conns))
		}
		if s.SetupSecs > 0 {
			setup = append(setup, float64(sc.Conns)/s.SetupSecs)
		}
		if s.ReplyBytes > 0 {
			reply = append(reply, float64(s.ReplyBytes))
		}
		if s.LatencyP99 > 0 {
			p50 = append(p50, s.LatencyP50)
			p99 = append(p99, s.LatencyP99)
		}
	}
	st.rate, st.perCPU, st.cpu = median(rate), median(perCPU), median(cpu)
	st.loadPct, st.rssPerConn, st.setupRate = median(load), median(rss), median(setup)
	st.replyBytes = median(reply)
	st.p50, st.p99 = median(p50), median(p99)
	return st
}

// libsFor lists the libraries that run in sc, in table order.
func (r *results) libsFor(sc scenario) []string {
	var libs []string
	for _, lib := range r.libs {
		if sc.supports(lib) {
			libs = append(libs, lib)
		}
	}
	return libs
}

// skipped names the selected libraries that cannot run sc.
func (r *results) skipped(sc scenario) []string {
	var out []string
	for _, lib := range r.libs {
		if !sc.supports(lib) {
			out = append(out, title(lib))
		}
	}
	return out
}

func title(lib string) string {
	if l, err := servers.Lookup(lib); err == nil {
		return l.Title
	}
	return lib
}

// primary is the figure a scenario is judged by: higher is better except
// for memory.
func (st stats) primary(sc scenario) float64 {
	switch sc.Mode {
	case loadgen.ModeIdle:
		return st.rssPerConn
	case loadgen.ModeBroadcast:
		return st.rate / float64(sc.Conns)
	}
	return st.rate
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// describe is the progress line for one run.
func describe(sc scenario, r loadgen.Result, err error) string {
	if err != nil {
		return "FAILED: " + err.Error()
	}
	if sc.Mode == loadgen.ModeIdle {
		return fmt.Sprintf("%s per connection (RSS %s → %s)",
			kb(float64(r.ServerRSS-r.BaseRSS)/float64(sc.Conns)), mb(float64(r.BaseRSS)), mb(float64(r.ServerRSS)))
	}
	ops := float64(r.Ops)
	if sc.Mode == loadgen.ModeBroadcast {
		ops /= float64(sc.Conns)
	}
	return fmt.Sprintf("%s %s, server CPU %.2f s, load CPU %.0f%%",
		count(ops/r.Seconds), sc.unit(), r.ServerCPU, 100*r.ClientCPU/r.Seconds)
}

func header(rc runConfig, p proc.Pinning, elapsed time.Duration) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Measured %s on %s: %s, %d CPUs, Linux %s, %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, cpuModel(), runtime.NumCPU(), kernel(), runtime.Version())
	cmd := "go run ./bench/cmd/run " + strings.Join(os.Args[1:], " ")
	fmt.Fprintf(&b, "Command: `%s` — %d repetitions (libraries in reverse order every other one), %s measured after %s of warm-up per run, %s in all.\n",
		strings.TrimSpace(cmd), rc.timing.Reps, rc.timing.Duration, rc.timing.Warmup, elapsed.Round(time.Second))
	if p.Taskset != "" {
		fmt.Fprintf(&b, "Each server runs alone on CPU %d, the load generator on CPU %d (taskset).\n", p.ServerCPU, p.LoadCPU)
	} else {
		b.WriteString("Not pinned: server and load generator share the CPUs.\n")
	}
	fmt.Fprintf(&b, "Load average (1, 5, 15 min) before the runs: %s; after: %s.\n", rc.loadBefore, loadAvg())
	b.WriteString("Figures are medians. ×gws and ×lxzan divide the library's figure by gws's and by lxzan/gws's: above 1 is faster for rates, and uses more for memory.\n")
	return b.String()
}

func (r *results) markdown(head string) string {
	var b strings.Builder
	b.WriteString(head)
	for _, sc := range r.scenarios {
		fmt.Fprintf(&b, "\n### %s\n\n", sc.title())
		ref := map[string]stats{}
		for _, lib := range []string{"gws", "lxzan"} {
			if slices.Contains(r.libsFor(sc), lib) {
				ref[lib] = r.stats(sc, lib)
			}
		}
		switch {
		case sc.Mode == loadgen.ModeIdle:
			b.WriteString("| library | RSS per connection | server RSS | connections set up per s | ×gws | ×lxzan |\n")
			b.WriteString("|---|--:|--:|--:|--:|--:|\n")
		case sc.Mode == loadgen.ModeBroadcast:
			b.WriteString("| library | broadcasts/s | messages delivered/s | server CPU per broadcast | broadcasts per server CPU-s | server CPU s | load CPU | fan-out p50 | fan-out p99 | ×gws | ×lxzan | ×gws per CPU | ×lxzan per CPU |\n")
			b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		default:
			u := sc.unit()
			extra := "RSS per conn"
			if sc.Compress {
				extra = "reply on the wire"
			}
			lat := ""
			if sc.Mode == loadgen.ModeEcho {
				lat = " round trip p50 | p99 |"
			}
			fmt.Fprintf(&b, "| library | %s | %s per server CPU-s | server CPU s | load CPU |%s %s | ×gws | ×lxzan | ×gws per CPU | ×lxzan per CPU |\n", u, strings.TrimSuffix(u, "/s"), lat, extra)
			b.WriteString("|---|--:|--:|--:|--:|" + strings.Repeat("--:|", strings.Count(lat, "|")) + "--:|--:|--:|--:|--:|\n")
		}
		rates := func(st stats) string {
			return fmt.Sprintf("%s | %s | %s | %s",
				ratio(st.rate, ref, "gws", func(s stats) float64 { return s.rate }),
				ratio(st.rate, ref, "lxzan", func(s stats) float64 { return s.rate }),
				ratio(st.perCPU, ref, "gws", func(s stats) float64 { return s.perCPU }),
				ratio(st.perCPU, ref, "lxzan", func(s stats) float64 { return s.perCPU }))
		}
		for _, lib := range r.libsFor(sc) {
			st := r.stats(sc, lib)
			name := title(lib)
			if st.n == 0 {
				fmt.Fprintf(&b, "| %s | failed: %s |\n", name, oneLine(st.lastErr))
				continue
			}
			if st.failed > 0 {
				name += fmt.Sprintf(" (%d of %d runs failed)", st.failed, st.failed+st.n)
			}
			switch {
			case sc.Mode == loadgen.ModeIdle:
				total := st.rssPerConn * float64(sc.Conns)
				fmt.Fprintf(&b, "| %s | %s | +%s | %s | %s | %s |\n", name, kb(st.rssPerConn), mb(total), count(st.setupRate),
					ratio(st.rssPerConn, ref, "gws", func(s stats) float64 { return s.rssPerConn }),
					ratio(st.rssPerConn, ref, "lxzan", func(s stats) float64 { return s.rssPerConn }))
			case sc.Mode == loadgen.ModeBroadcast:
				// Ops are messages delivered, Conns per broadcast.
				n := float64(sc.Conns)
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.2f | %.0f%% | %s | %s | %s |\n", name,
					small(st.rate/n), count(st.rate), perOp(st.perCPU/n), small(st.perCPU/n), st.cpu, st.loadPct,
					millis(st.p50), millis(st.p99), rates(st))
			default:
				extra := rssCell(sc, st)
				if sc.Compress {
					extra = fmt.Sprintf("%.0f B", st.replyBytes)
				}
				lat := ""
				if sc.Mode == loadgen.ModeEcho {
					lat = fmt.Sprintf(" %s | %s |", millis(st.p50), millis(st.p99))
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %.0f%% |%s %s | %s |\n", name,
					count(st.rate), count(st.perCPU), st.cpu, st.loadPct, lat, extra, rates(st))
			}
		}
		if sk := r.skipped(sc); len(sk) > 0 {
			why := "no broadcast server"
			if sc.Compress {
				why = "no permessage-deflate here"
			}
			fmt.Fprintf(&b, "\nNot run (%s): %s.\n", why, strings.Join(sk, ", "))
		}
	}
	b.WriteString(r.paired())
	b.WriteString(r.checks())
	b.WriteString(r.noise())
	return b.String()
}

// noise says how much other processes (and the hypervisor) took of the
// server's CPU during the measured windows, which is what moves the raw
// rates from run to run and leaves the per-CPU figures alone.
func (r *results) noise() string {
	var others, steal []float64
	for _, sc := range r.scenarios {
		if sc.Mode == loadgen.ModeIdle {
			continue
		}
		for _, byLib := range r.samples[sc.Name] {
			for _, s := range byLib {
				if s.Err == "" && s.Seconds > 0 {
					others = append(others, 100*s.OtherCPU/s.Seconds)
					steal = append(steal, 100*s.Steal/s.Seconds)
				}
			}
		}
	}
	if len(others) == 0 {
		return ""
	}
	slices.Sort(others)
	slices.Sort(steal)
	p90 := len(others) * 9 / 10
	return fmt.Sprintf("\n### How busy was the machine?\n\nOn the server's CPU, in the measured windows, other processes ran for a median of %.0f %% of the window (90th percentile %.0f %%) and the hypervisor stole %.0f %% (90th percentile %.0f %%), over %d runs. That time is lost to the raw rates, not to the per-CPU figures.\n",
		median(others), others[p90], median(steal), steal[p90], len(others))
}

// paired divides gws's figure by lxzan/gws's repetition by repetition.
// The two run next to each other in every repetition (first and second,
// then last two), so each ratio compares them under the same conditions,
// while the machine's speed drifts by tens of percent between
// repetitions; the median of these ratios is the steadiest comparison the
// run gives.
func (r *results) paired() string {
	if !slices.Contains(r.libs, "gws") || !slices.Contains(r.libs, "lxzan") {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n### gws ÷ lxzan/gws, repetition by repetition\n\n")
	b.WriteString("| scenario | figure | each repetition | median |\n|---|---|---|--:|\n")
	for _, sc := range r.scenarios {
		ours, theirs := r.samples[sc.Name]["gws"], r.samples[sc.Name]["lxzan"]
		var cells []string
		var ratios []float64
		for i := range min(len(ours), len(theirs)) {
			a, z := figure(sc, ours[i]), figure(sc, theirs[i])
			if a == 0 || z == 0 {
				cells = append(cells, "–")
				continue
			}
			ratios = append(ratios, a/z)
			cells = append(cells, fmt.Sprintf("%.2f×", a/z))
		}
		if len(ratios) == 0 {
			continue
		}
		what := "per server CPU-s"
		if sc.Mode == loadgen.ModeIdle {
			what = "RSS per connection"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f× |\n", sc.Name, what, strings.Join(cells, " "), median(ratios))
	}
	return b.String()
}

// figure is what paired compares for one run: memory per connection when
// idle, operations per server CPU-second otherwise; 0 for a failed run.
func figure(sc scenario, s sample) float64 {
	switch {
	case s.Err != "":
		return 0
	case sc.Mode == loadgen.ModeIdle:
		if s.BaseRSS == 0 || sc.Conns == 0 {
			return 0
		}
		return float64(s.ServerRSS-s.BaseRSS) / float64(sc.Conns)
	case s.ServerCPU > 0:
		return float64(s.Ops) / s.ServerCPU
	}
	return 0
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], ", ")
}

// perOp is the server CPU time one operation costs, from operations per
// CPU-second.
func perOp(perCPU float64) string {
	if perCPU == 0 {
		return "–"
	}
	us := 1e6 / perCPU
	if us >= 1000 {
		return fmt.Sprintf("%.1f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// millis formats a latency given in seconds.
func millis(s float64) string {
	if s == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f ms", s*1e3)
}

// checks says whether the load generator was cheap enough: the TCP floor
// must beat every WebSocket server, and no WebSocket server's run should have
// had the load generator near a full core, where the client, not the server,
// would have set the rate.
func (r *results) checks() string {
	if !slices.Contains(r.libs, "tcp") {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n### Is the load generator cheap enough?\n\n")
	b.WriteString("| scenario | TCP floor per server CPU-s | best WebSocket server | floor ahead by | TCP floor rate ahead by | WebSocket runs with load CPU ≥ 95 % |\n")
	b.WriteString("|---|--:|---|--:|--:|---|\n")
	for _, sc := range r.scenarios {
		if sc.Mode == loadgen.ModeIdle || !sc.supports("tcp") {
			continue
		}
		floor := r.stats(sc, "tcp")
		var best string
		var bestPer, bestRate float64
		var bound []string
		for _, lib := range r.libsFor(sc) {
			if lib == "tcp" {
				continue
			}
			st := r.stats(sc, lib)
			if st.perCPU > bestPer {
				best, bestPer = lib, st.perCPU
			}
			bestRate = max(bestRate, st.rate)
			if st.loadPct >= 95 {
				bound = append(bound, fmt.Sprintf("%s (%.0f%%)", lib, st.loadPct))
			}
		}
		if floor.n == 0 || bestPer == 0 {
			continue
		}
		if len(bound) == 0 {
			bound = []string{"none"}
		}
		per := 1.0
		if sc.Mode == loadgen.ModeBroadcast {
			per = float64(sc.Conns) // broadcasts, not messages delivered
		}
		fmt.Fprintf(&b, "| %s | %s | %s, %s | %.2f× | %.2f× | %s |\n", sc.Name, small(floor.perCPU/per), title(best), small(bestPer/per),
			floor.perCPU/bestPer, floor.rate/bestRate, strings.Join(bound, ", "))
	}
	return b.String()
}

func ratio(v float64, ref map[string]stats, lib string, f func(stats) float64) string {
	st, ok := ref[lib]
	if !ok || st.n == 0 || f(st) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v/f(st))
}

// saved is results.json: every run's raw figures, with what -render needs
// to print the same tables again.
type saved struct {
	Header    string                         `json:"header"`
	Libs      []string                       `json:"libs"`
	Scenarios []scenario                     `json:"scenarios"`
	Samples   map[string]map[string][]sample `json:"samples"`
}

func (r *results) json(head string) []byte {
	b, _ := json.MarshalIndent(saved{head, r.libs, r.scenarios, r.samples}, "", "  ")
	return append(b, '\n')
}

// load reads a results.json back, for -render.
func load(path string) (*results, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var sv saved
	if err := json.Unmarshal(b, &sv); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	r := newResults(sv.Libs, sv.Scenarios)
	for sc, byLib := range sv.Samples {
		r.samples[sc] = byLib
	}
	return r, sv.Header, nil
}

// small formats a rate that may be below 100 (broadcasts to 10,000
// connections) with a decimal, so that libraries still differ in print.
func small(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	return count(v)
}

// count formats a rate with thousands separators.
func count(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// rssCell is RSS per connection under load; connections that churn hold
// no memory to speak of.
func rssCell(sc scenario, st stats) string {
	if sc.Mode == loadgen.ModeConnRate {
		return "–"
	}
	return kb(st.rssPerConn)
}

func kb(bytes float64) string { return fmt.Sprintf("%.1f KB", bytes/1000) }
func mb(bytes float64) string { return fmt.Sprintf("%.1f MB", bytes/1e6) }

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.ReplaceAll(s, "|", "/")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
