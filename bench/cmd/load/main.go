// Command load is the load generator: it runs one scenario against one
// server and prints the result as one line of JSON. The runner starts it
// pinned to a core of its own; it can also be run by hand:
//
//	load -addr 127.0.0.1:9001 -mode echo -conns 1000 -size 16 -duration 5s -pid 12345
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gwsgo/gws/bench/internal/loadgen"
)

func main() {
	var cfg loadgen.Config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:9001", "server address")
	flag.StringVar(&cfg.Mode, "mode", loadgen.ModeEcho, "echo, broadcast, connrate or idle")
	tcp := flag.Bool("tcp", false, "the server is the plain TCP echo (no handshake, no framing)")
	flag.IntVar(&cfg.Conns, "conns", 1000, "connections (echo, broadcast, idle) or concurrent workers (connrate)")
	flag.IntVar(&cfg.InFlight, "inflight", 1, "messages in flight per connection (echo) or broadcasts under way (broadcast)")
	flag.IntVar(&cfg.Size, "size", 16, "payload bytes per message")
	flag.BoolVar(&cfg.Text, "text", false, "send text messages instead of binary")
	flag.BoolVar(&cfg.Compress, "compress", false, "offer permessage-deflate and send JSON-like text, compressed (no context takeover)")
	flag.DurationVar(&cfg.Warmup, "warmup", 500e6, "load before the measured window")
	flag.DurationVar(&cfg.Duration, "duration", 5e9, "measured window")
	flag.DurationVar(&cfg.Settle, "settle", 1e9, "idle: wait before reading memory")
	flag.IntVar(&cfg.ServerPID, "pid", 0, "server process to sample CPU time and memory of")
	flag.IntVar(&cfg.DialParallel, "dial-parallel", 64, "concurrent dials while connecting")
	addrs := flag.String("addrs", "", "broadcast: more server addresses, comma-separated (the nodes of a cluster); connections go round-robin, the sender to -addr")
	pids := flag.String("pids", "", "more processes, comma-separated, whose CPU time counts as the server's (the other nodes, the broker)")
	flag.Parse()
	if *addrs != "" {
		cfg.Addrs = strings.Split(*addrs, ",")
	}
	for _, s := range strings.Split(*pids, ",") {
		if s == "" {
			continue
		}
		pid, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load: -pids:", err)
			os.Exit(2)
		}
		cfg.OtherPIDs = append(cfg.OtherPIDs, pid)
	}
	cfg.WebSocket = !*tcp

	r, err := loadgen.Run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}
