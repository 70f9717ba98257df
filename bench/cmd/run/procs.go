package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gwsgo/gws/bench/internal/loadgen"
)

// pinning says how server and load generator are kept apart.
type pinning struct {
	taskset   string // path, or "" when not pinning
	serverCPU int
	loadCPU   int
}

// command builds a command pinned to cpu when pinning is on. The kernel
// kills the child if the runner dies, so no server outlives a crash or a
// kill -9 of the runner (taskset execs its target, which keeps the setting).
func (p pinning) command(ctx context.Context, cpu int, bin string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if p.taskset != "" {
		cmd = exec.CommandContext(ctx, p.taskset, append([]string{"-c", strconv.Itoa(cpu), bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// server is a running echo server.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stderr bytes.Buffer
	exited chan struct{}
}

// startServer starts lib's server for sc on a free loopback port and waits
// until it listens.
func startServer(ctx context.Context, p pinning, bin, lib string, sc scenario) (*server, error) {
	s := &server{exited: make(chan struct{})}
	args := []string{"-lib", lib, "-addr", "127.0.0.1:0"}
	if sc.Mode == loadgen.ModeBroadcast {
		args = append(args, "-mode", "broadcast")
	}
	if sc.Compress {
		args = append(args, "-compress")
	}
	s.cmd = p.command(ctx, p.serverCPU, bin, args...)
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
	select {
	case l, ok := <-line:
		if a, found := strings.CutPrefix(l, "listening "); ok && found {
			s.addr = a
			return s, nil
		}
		s.stop()
		return nil, fmt.Errorf("server %s did not start: %s", lib, strings.TrimSpace(s.stderr.String()))
	case <-time.After(15 * time.Second):
		s.stop()
		return nil, fmt.Errorf("server %s did not listen within 15 s", lib)
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop ends the server: SIGTERM, then SIGKILL if it lingers.
func (s *server) stop() {
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

// runLoad runs the load generator once against s and decodes its result.
func runLoad(ctx context.Context, p pinning, bin string, s *server, sc scenario, t timing, webSocket bool) (loadgen.Result, error) {
	args := []string{
		"-addr", s.addr, "-mode", sc.Mode,
		"-conns", strconv.Itoa(sc.Conns), "-inflight", strconv.Itoa(max(sc.InFlight, 1)),
		"-size", strconv.Itoa(sc.Size),
		"-warmup", t.Warmup.String(), "-duration", t.Duration.String(), "-settle", t.Settle.String(),
		"-pid", strconv.Itoa(s.pid()),
	}
	if !webSocket {
		args = append(args, "-tcp")
	}
	if sc.Compress {
		args = append(args, "-compress")
	}
	// Generous: connecting 10,000 clients on a busy machine takes seconds.
	ctx, cancel := context.WithTimeout(ctx, t.Warmup+t.Duration+3*t.Settle+90*time.Second)
	defer cancel()
	cmd := p.command(ctx, p.loadCPU, bin, args...)
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
