// Package proc starts the benchmark's processes: servers and load
// generators, each pinned to a CPU, killed by the kernel if the runner
// dies.
package proc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
)

// Pinning says how servers and load generator are kept apart.
type Pinning struct {
	Taskset   string // path, or "" when not pinning
	ServerCPU int
	LoadCPU   int
}

// NewPinning pins servers to serverCPU and the load generator to loadCPU
// unless noPin, or taskset or a second CPU is missing (it warns then).
func NewPinning(serverCPU, loadCPU int, noPin bool) Pinning {
	p := Pinning{ServerCPU: serverCPU, LoadCPU: loadCPU}
	if !noPin {
		if ts, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() >= 2 {
			p.Taskset = ts
		} else {
			fmt.Fprintln(os.Stderr, "warning: not pinning (needs taskset and 2 CPUs); server and load generator share the CPUs")
		}
	}
	return p
}

// Command builds a command pinned to cpu when pinning is on. The kernel
// kills the child if the runner dies, so no server outlives a crash or a
// kill -9 of the runner (taskset execs its target, which keeps the setting).
func (p Pinning) Command(ctx context.Context, cpu int, bin string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if p.Taskset != "" {
		cmd = exec.CommandContext(ctx, p.Taskset, append([]string{"-c", strconv.Itoa(cpu), bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Server is a running server process.
type Server struct {
	cmd    *exec.Cmd
	Addr   string
	stderr bytes.Buffer
	exited chan struct{}
}

// StartServer starts bin with args on the server CPU and waits until it
// prints "listening ADDR".
func StartServer(ctx context.Context, p Pinning, bin string, args ...string) (*Server, error) {
	s := &Server{exited: make(chan struct{})}
	s.cmd = p.Command(ctx, p.ServerCPU, bin, args...)
	s.cmd.Stderr = &s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		// Drained so the server never blocks on a full pipe.
		for sc.Scan() {
		}
	}()
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	what := strings.Join(append([]string{bin}, args...), " ")
	select {
	case l, ok := <-line:
		if a, found := strings.CutPrefix(l, "listening "); ok && found {
			s.Addr = a
			return s, nil
		}
		s.Stop()
		return nil, fmt.Errorf("%s did not start: %s", what, strings.TrimSpace(s.stderr.String()))
	case <-time.After(15 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("%s did not listen within 15 s", what)
	}
}

// PID is the server's process ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop ends the server: SIGTERM, then SIGKILL if it lingers.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(3 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// RunLoad runs the load generator bin with args on the load CPU, for up to
// timeout, and decodes its result.
func RunLoad(ctx context.Context, p Pinning, bin string, timeout time.Duration, args ...string) (loadgen.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := p.Command(ctx, p.LoadCPU, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var r loadgen.Result
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return r, errors.New(msg)
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("load generator output: %w", err)
	}
	return r, nil
}
