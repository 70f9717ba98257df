//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gwsgo/gws/internal/wstest/nodejs"
)

// TestClusterFromNode runs cluster/cluster.mjs: three chat processes, as
// `go run ./examples/chat -broker URL` starts them, on nats-server and on
// redis-server, driven by clients of the ws package (Node.js) from outside
// the Go tests: delivery across nodes exactly once and in order, presence,
// a name on two nodes, the broker restarted, a node killed with SIGKILL.
// It builds the chat and nats-server (slow the first time, then cached)
// and waits out the presence timeout of a killed node (about 7 s) on each
// broker.
func TestClusterFromNode(t *testing.T) {
	node, dir := nodejs.Package(t, "cluster", "the chat cluster check (Node.js ws)")
	bin := t.TempDir()
	goBuild(t, filepath.Join(bin, "chat"), ".")
	goBuild(t, filepath.Join(bin, "nats-server"), "github.com/nats-io/nats-server/v2")
	servers := map[string]string{"nats": filepath.Join(bin, "nats-server")}
	if redis, err := exec.LookPath("redis-server"); err == nil {
		servers["redis"] = redis
	} else if os.Getenv("CI") == "true" {
		t.Errorf("the Redis run needs redis-server (apt-get install redis-server), and CI=true: %v", err)
	} else {
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING %s on Redis: no redis-server: %v ***\n\n", t.Name(), err)
	}
	for _, broker := range []string{"nats", "redis"} {
		if servers[broker] == "" {
			continue
		}
		t.Run(broker, func(t *testing.T) {
			nodejs.RunScript(t, node, dir, 4*time.Minute, "cluster.mjs",
				"--chat", filepath.Join(bin, "chat"), "--broker", broker, "--server", servers[broker])
		})
	}
}

// goBuild builds pkg, a package of this module or of its requirements,
// into out.
func goBuild(t *testing.T, out, pkg string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if b, err := exec.CommandContext(ctx, goBin, "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	t.Logf("go build %s: %v", pkg, time.Since(start).Round(time.Millisecond))
}
