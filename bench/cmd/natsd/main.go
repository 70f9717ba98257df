// Command natsd runs nats-server as the room scenario's broker, in a
// process of its own so that its CPU time counts with the servers'.
//
//	natsd -addr 127.0.0.1:0
//
// It prints "listening ADDR" once it accepts connections, and exits on
// SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (loopback)")
	flag.Parse()
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		fatal(err)
	}
	if p == 0 {
		p = -1 // nats-server's "any free port"
	}
	ns, err := natsserver.NewServer(&natsserver.Options{Host: host, Port: p, NoLog: true, NoSigs: true})
	if err != nil {
		fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		fatal(fmt.Errorf("not ready after 10 s"))
	}
	fmt.Printf("listening %s\n", ns.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ns.Shutdown()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "natsd:", err)
	os.Exit(1)
}
