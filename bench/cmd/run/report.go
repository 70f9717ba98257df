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
	var rate, perCPU, cpu, load, rss, setup []float64
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
	}
	st.rate, st.perCPU, st.cpu = median(rate), median(perCPU), median(cpu)
	st.loadPct, st.rssPerConn, st.setupRate = median(load), median(rss), median(setup)
	return st
}

// primary is the figure a scenario is judged by: higher is better except
// for memory.
func (st stats) primary(sc scenario) float64 {
	if sc.Mode == loadgen.ModeIdle {
		return st.rssPerConn
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
	return fmt.Sprintf("%s %s, server CPU %.2f s, load CPU %.0f%%",
		count(float64(r.Ops)/r.Seconds), sc.unit(), r.ServerCPU, 100*r.ClientCPU/r.Seconds)
}

func header(rc runConfig, p pinning, elapsed time.Duration) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Measured %s on %s: %s, %d CPUs, Linux %s, %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, cpuModel(), runtime.NumCPU(), kernel(), runtime.Version())
	cmd := "go run ./bench/cmd/run " + strings.Join(os.Args[1:], " ")
	fmt.Fprintf(&b, "Command: `%s` — %d repetitions (libraries in reverse order every other one), %s measured after %s of warm-up per run, %s in all.\n",
		strings.TrimSpace(cmd), rc.timing.Reps, rc.timing.Duration, rc.timing.Warmup, elapsed.Round(time.Second))
	if p.taskset != "" {
		fmt.Fprintf(&b, "Each server runs alone on CPU %d, the load generator on CPU %d (taskset).\n", p.serverCPU, p.loadCPU)
	} else {
		b.WriteString("Not pinned: server and load generator share the CPUs.\n")
	}
	b.WriteString("Figures are medians. ×gws and ×lxzan divide the library's figure by gws's and by lxzan/gws's: above 1 is faster for rates, and uses more for memory.\n")
	return b.String()
}

func (r *results) markdown(head string) string {
	var b strings.Builder
	b.WriteString(head)
	for _, sc := range r.scenarios {
		fmt.Fprintf(&b, "\n### %s\n\n", sc.Title)
		ref := map[string]stats{}
		for _, lib := range []string{"gws", "lxzan"} {
			if slices.Contains(r.libs, lib) {
				ref[lib] = r.stats(sc, lib)
			}
		}
		if sc.Mode == loadgen.ModeIdle {
			b.WriteString("| library | RSS per connection | server RSS | connections set up per s | ×gws | ×lxzan |\n")
			b.WriteString("|---|--:|--:|--:|--:|--:|\n")
		} else {
			u := sc.unit()
			fmt.Fprintf(&b, "| library | %s | %s per server CPU-s | server CPU s | load CPU | RSS per conn | ×gws | ×lxzan | ×gws per CPU | ×lxzan per CPU |\n", u, strings.TrimSuffix(u, "/s"))
			b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		}
		for _, lib := range r.libs {
			st := r.stats(sc, lib)
			title := lib
			if l, err := servers.Lookup(lib); err == nil {
				title = l.Title
			}
			if st.n == 0 {
				fmt.Fprintf(&b, "| %s | failed: %s |\n", title, oneLine(st.lastErr))
				continue
			}
			if st.failed > 0 {
				title += fmt.Sprintf(" (%d of %d runs failed)", st.failed, st.failed+st.n)
			}
			if sc.Mode == loadgen.ModeIdle {
				total := st.rssPerConn * float64(sc.Conns)
				fmt.Fprintf(&b, "| %s | %s | +%s | %s | %s | %s |\n", title, kb(st.rssPerConn), mb(total), count(st.setupRate),
					ratio(st.rssPerConn, ref, "gws", func(s stats) float64 { return s.rssPerConn }),
					ratio(st.rssPerConn, ref, "lxzan", func(s stats) float64 { return s.rssPerConn }))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %.0f%% | %s | %s | %s | %s | %s |\n", title,
				count(st.rate), count(st.perCPU), st.cpu, st.loadPct, rssCell(sc, st),
				ratio(st.rate, ref, "gws", func(s stats) float64 { return s.rate }),
				ratio(st.rate, ref, "lxzan", func(s stats) float64 { return s.rate }),
				ratio(st.perCPU, ref, "gws", func(s stats) float64 { return s.perCPU }),
				ratio(st.perCPU, ref, "lxzan", func(s stats) float64 { return s.perCPU }))
		}
	}
	b.WriteString(r.checks())
	return b.String()
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
	b.WriteString("| scenario | TCP floor per server CPU-s | best WebSocket server | floor ahead by | TCP floor msg/s ahead by | WebSocket runs with load CPU ≥ 95 % |\n")
	b.WriteString("|---|--:|---|--:|--:|---|\n")
	for _, sc := range r.scenarios {
		if sc.Mode == loadgen.ModeIdle {
			continue
		}
		floor := r.stats(sc, "tcp")
		var best string
		var bestPer, bestRate float64
		var bound []string
		for _, lib := range r.libs {
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
		title := best
		if l, err := servers.Lookup(best); err == nil {
			title = l.Title
		}
		fmt.Fprintf(&b, "| %s | %s | %s, %s | %.2f× | %.2f× | %s |\n", sc.Name, count(floor.perCPU), title, count(bestPer),
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

func (r *results) json() []byte {
	b, _ := json.MarshalIndent(struct {
		Scenarios []scenario                     `json:"scenarios"`
		Samples   map[string]map[string][]sample `json:"samples"`
	}{r.scenarios, r.samples}, "", "  ")
	return append(b, '\n')
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
