// Command server runs one library's echo or broadcast server, as its own
// process so that the runner can pin it to a core and read its CPU time and
// memory from /proc.
//
//	server -lib gorilla -addr 127.0.0.1:9001
//	server -lib gws -mode broadcast
//	server -lib lxzan -compress
//	server -lib gws -mode room -broker nats://127.0.0.1:4222
//
// It prints "listening ADDR" once the socket accepts connections, and exits
// on SIGINT or SIGTERM (the runner also has the kernel kill it if the runner
// dies).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/gwsgo/gws/bench/servers"
)

func main() {
	lib := flag.String("lib", "", "library to serve: "+strings.Join(servers.Names(), ", "))
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (loopback)")
	mode := flag.String("mode", "echo", "echo; broadcast: every message to every connection; room (gws): the same through a rooms.Hub")
	broker := flag.String("broker", "", "room: the nats:// URL of the cluster's broker (default: a node alone)")
	compress := flag.Bool("compress", false, "accept permessage-deflate")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until the server is stopped")
	memprofile := flag.String("memprofile", "", "write a heap profile to this file on SIGUSR1 (what idle connections hold)")
	flag.Parse()

	l, err := servers.Lookup(*lib)
	if err != nil {
		fatal(err)
	}
	o := servers.Options{Broadcast: *mode == "broadcast", Compress: *compress, Room: *mode == "room", Broker: *broker}
	switch {
	case *mode != "echo" && *mode != "broadcast" && *mode != "room":
		fatal(fmt.Errorf("unknown mode %q", *mode))
	case o.Room && l.Name != "gws":
		fatal(fmt.Errorf("only gws has a room server"))
	case o.Broadcast && !l.CanBroadcast:
		fatal(fmt.Errorf("%s has no broadcast server", l.Name))
	case o.Compress && !l.CanCompress:
		fatal(fmt.Errorf("%s does not compress here", l.Name))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fatal(err)
	}
	// The runner waits for this line, so it never dials before the
	// listener is there.
	fmt.Printf("listening %s\n", ln.Addr())

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	if *memprofile != "" {
		writeHeapProfiles(*memprofile)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		pprof.StopCPUProfile()
		os.Exit(0)
	}()
	if err := l.Serve(ln, o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "server:", err)
	os.Exit(1)
}

// writeHeapProfiles writes the heap profile to file each time the process
// gets SIGUSR1, after a garbage collection, with every allocation sampled
// from the start, so that what a connection holds can be told apart:
//
//	kill -USR1 PID; go tool pprof -sample_index=inuse_space -top SERVER FILE
func writeHeapProfiles(file string) {
	runtime.MemProfileRate = 1
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			runtime.GC()
			f, err := os.Create(file)
			if err != nil {
				fmt.Fprintln(os.Stderr, "server:", err)
				continue
			}
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}()
}
