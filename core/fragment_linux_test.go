package gws

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

// BenchmarkFragmentedMessage64MiB sends a 64 MiB message in 64 KiB
// fragments under a 64 MiB limit, the load a hostile client can make, to a
// server in a process of its own, and reports that process's CPU time per
// message and how far its resident set rose (its peak, VmHWM, over its size
// once the connection was open):
//
//	go test -run ^$ -bench FragmentedMessage64MiB -benchtime 3x ./core
//
// It runs in goroutine mode and in poller mode (ServerOptions.Poller).
func BenchmarkFragmentedMessage64MiB(b *testing.B) {
	for _, mode := range []string{"goroutine", "poller"} {
		b.Run(mode, func(b *testing.B) { benchmarkFragmentedMessage64MiB(b, mode) })
	}
}

func benchmarkFragmentedMessage64MiB(b *testing.B, mode string) {
	const limit, piece = 64 << 20, 64 << 10
	cmd := exec.Command(os.Args[0], "-test.run=^TestFragmentServerProcess$")
	cmd.Env = append(os.Environ(), "GWS_FRAGMENT_SERVER="+mode)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	c := connect(b, strings.TrimSpace(addr))
	msg := bytes.Repeat([]byte("fragmented "), limit/11+1)[:limit]
	want := []byte(digestOf(msg))
	var frames [][]byte
	for off := 0; off < limit; off += piece {
		first := byte(frame.OpContinuation)
		if off == 0 {
			first = frame.OpBinary
		}
		if off+piece >= limit {
			first |= 0x80
		}
		frames = append(frames, encode(first, msg[off:min(off+piece, limit)]))
	}
	pid := cmd.Process.Pid
	rssBefore := procStatus(b, pid, "VmRSS:")
	cpuBefore := procCPU(b, pid)
	for b.Loop() {
		for _, f := range frames {
			c.nc.Write(f)
		}
		c.expect(frame.OpText, want)
	}
	b.ReportMetric((procCPU(b, pid)-cpuBefore).Seconds()/float64(b.N), "server-cpu-s/op")
	b.ReportMetric(float64(procStatus(b, pid, "VmHWM:")-rssBefore)/(1<<20), "server-peak-RSS-growth-MiB")
}

// TestFragmentServerProcess is the server of
// BenchmarkFragmentedMessage64MiB: it prints its address and serves until
// its standard input closes.
func TestFragmentServerProcess(t *testing.T) {
	if os.Getenv("GWS_FRAGMENT_SERVER") == "" {
		t.Skip("the server process of BenchmarkFragmentedMessage64MiB")
	}
	opts := &ServerOptions{ReadMaxPayloadSize: 64 << 20, Poller: os.Getenv("GWS_FRAGMENT_SERVER") == "poller"}
	addr := serve(t, &Upgrader{ServerOptions: opts}, digest{})
	fmt.Println(addr)
	os.Stdin.Read(make([]byte, 1))
}

// procCPU returns the user and system CPU time of process pid so far.
func procCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks of 1/100 s.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// procStatus returns a size in bytes from /proc/PID/status.
func procStatus(b *testing.B, pid int, field string) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	_, rest, _ := bytes.Cut(status, []byte(field))
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(line)), " kB"), 10, 64)
	if err != nil {
		b.Fatalf("%s %q: %v", field, line, err)
	}
	return kb << 10
}
