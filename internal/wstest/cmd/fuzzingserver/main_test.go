package main

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gwsgo/gws/internal/wstest/leak"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// TestAgainstGwsClient builds this command and the gws client testee
// (examples/autobahn-client), runs them as separate processes, and expects
// every case to pass.
func TestAgainstGwsClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	dir := t.TempDir()
	server := filepath.Join(dir, "fuzzingserver")
	client := filepath.Join(dir, "autobahn-client")
	build(t, server, ".", ".")
	// The testee lives in the examples module: build it from there.
	build(t, client, "../../../../examples", "./autobahn-client")

	addr := freeAddr(t)
	var out bytes.Buffer
	srv := exec.Command(server, "-addr", addr, "-agent", "gws", "-scale", "64", "-timeout", "3m")
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	waitListening(t, addr)
	cl := exec.Command(client, "-url", "ws://"+addr, "-agent", "gws")
	if b, err := cl.CombinedOutput(); err != nil {
		t.Errorf("testee: %v\n%s", err, b)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("fuzzingserver: %v", err)
		}
	case <-time.After(4 * time.Minute):
		srv.Process.Kill()
		t.Fatal("fuzzingserver did not finish")
	}
	summary := regexp.MustCompile(`(?m)^(\d+) passed, 0 failed$`).FindStringSubmatch(out.String())
	if summary == nil || summary[1] == "0" {
		t.Fatalf("no clean summary in the output:\n%s", tailLines(out.String(), 30))
	}
}

func build(t *testing.T, out, dir, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if nc, err := net.Dial("tcp", addr); err == nil {
			nc.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
