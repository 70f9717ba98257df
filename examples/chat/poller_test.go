package main

import (
	"flag"
	"os"
	"os/exec"
	"testing"
)

// pollerEnv asks a test process of this package to run the chat with
// -poller.
const pollerEnv = "GWS_CHAT_POLLER"

func init() { usePoller = os.Getenv(pollerEnv) != "" }

// TestPollerMode runs the tests this run selected once more, in a child
// process, with the chat serving as `go run ./examples/chat -poller` does:
// everything they check of the chat (joining, leaving, rooms, direct
// messages, the slow reader, the heartbeat, Shutdown, the browser, the
// metrics, the nodes on a broker) must hold in both modes. It doubles the
// package's time (some 40 s under the race detector on 2 cores), the
// price of running every one of them in both modes.
func TestPollerMode(t *testing.T) {
	if usePoller {
		t.Skip("this is the run with -poller")
	}
	args := []string{"-test.count=1"}
	for _, name := range []string{"test.run", "test.skip", "test.short", "test.v", "test.timeout"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != f.DefValue {
			args = append(args, "-"+name+"="+f.Value.String())
		}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), pollerEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("with -poller: %v\n%s", err, out)
	}
	t.Logf("with -poller:\n%s", out)
}
