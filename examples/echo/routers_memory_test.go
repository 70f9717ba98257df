package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// TestIdleMemory measures what an idle connection costs the server on each
// router: the growth of heap and goroutine stacks, and of the resident set,
// while a client process holds GWS_IDLE_CONNS connections (say 2000) open
// and silent. It runs only when GWS_IDLE_CONNS is set:
//
//	GWS_IDLE_CONNS=2000 go test -run TestIdleMemory -v ./examples/echo
//
// The clients live in a child process so that their memory is not counted.
func TestIdleMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GWS_IDLE_CONNS"))
	if n <= 0 {
		t.Skip("set GWS_IDLE_CONNS to the number of idle connections to measure")
	}
	names := make([]string, 0, len(routers))
	for name := range routers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- routers[name](ln, newUpgrader(), wstest.Echo{}) }()
			defer func() {
				ln.Close()
				<-done
			}()
			addr := ln.Addr().String()
			// Pools, lazily started goroutines and the first connection's
			// allocations are not per-connection costs.
			idleClients(t, addr, 50).close(t)
			before := memoryInUse()
			clients := idleClients(t, addr, n)
			time.Sleep(500 * time.Millisecond)
			after := memoryInUse()
			clients.close(t)
			per := func(a, b int64) int64 { return (b - a) / int64(n) }
			t.Logf("%-8s %d idle connections, bytes per connection: heap %5d + stacks %5d = %5d, RSS %6d",
				name, n, per(before.heap, after.heap), per(before.stacks, after.stacks),
				per(before.heap+before.stacks, after.heap+after.stacks), per(before.rss, after.rss))
		})
	}
}

type memory struct{ heap, stacks, rss int64 }

// memoryInUse returns the bytes of heap and goroutine stacks in use after a
// full collection, and the resident set size.
func memoryInUse() memory {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	statm, _ := os.ReadFile("/proc/self/statm")
	var size, resident int64
	fmt.Sscan(string(statm), &size, &resident)
	return memory{int64(m.HeapInuse), int64(m.StackInuse), resident * int64(os.Getpagesize())}
}

// childProcess is this test binary run again as a process of its own, so
// that its memory is not counted with the test's (idle clients, a server
// whose memory is measured): it runs one test, with env set, says one line
// and ends when its standard input closes.
type childProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

// startChild starts the test named test as a child process and returns
// it with its first line of output.
func startChild(t *testing.T, test string, env ...string) (*childProcess, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &childProcess{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("%s: %v", test, err)
	}
	return p, strings.TrimSuffix(line, "\n")
}

// idleClients starts a child process that opens n connections to addr and
// keeps them open and silent until close.
func idleClients(t *testing.T, addr string, n int) *childProcess {
	t.Helper()
	p, line := startChild(t, "TestIdleClients", "GWS_IDLE_CLIENTS_ADDR="+addr, "GWS_IDLE_CLIENTS="+strconv.Itoa(n))
	if line != "ready" {
		p.close(t)
		t.Fatalf("client process: %q", line)
	}
	return p
}

func (p *childProcess) close(t *testing.T) {
	t.Helper()
	p.stdin.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("child process: %v", err)
	}
}

// TestIdleClients is the child process of TestIdleMemory: it opens the
// connections, says "ready", and holds them until its stdin closes.
func TestIdleClients(t *testing.T) {
	addr := os.Getenv("GWS_IDLE_CLIENTS_ADDR")
	n, _ := strconv.Atoi(os.Getenv("GWS_IDLE_CLIENTS"))
	if addr == "" {
		t.Skip("run by TestIdleMemory")
	}
	conns := make([]*rawclient.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, _, err := rawclient.Dial(addr, "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}
