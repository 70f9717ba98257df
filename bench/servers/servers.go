// Package servers holds one echo server per WebSocket library under test.
//
// Every server has the same behaviour, so that the load generator measures
// the libraries and nothing else: each text or binary message is written back
// with the same opcode, pings are answered by the library's own default, a
// close handshake is completed, and the origin is not checked (the load
// generator sends none). Each library is used the way its own documentation
// shows for an echo server, with default options, so that the numbers are the
// ones a user who adopts it would see.
package servers

import (
	"fmt"
	"net"
	"sort"
)

// Serve runs a server on ln until ln is closed or serving fails.
type Serve func(ln net.Listener, o Options) error

// Options choose what a server does; every library does the same.
type Options struct {
	// Broadcast sends every data message to every connection, the sender
	// included, instead of echoing it, and welcomes each new connection
	// once it is registered (package wire).
	Broadcast bool
	// Compress accepts permessage-deflate, with the library's own
	// defaults for it otherwise.
	Compress bool
	// Room (gws only) broadcasts through a rooms.Hub instead: every
	// connection joins one room, and every data message is published to
	// it. With Broker (a nats:// URL) the server is one node of a
	// cluster, and the room's members are spread over its nodes.
	Room   bool
	Broker string
}

// Library describes one server under test.
type Library struct {
	// Name is the short name used on the command line (-lib, -libs).
	Name string
	// Title is the name shown in tables and charts.
	Title string
	// WebSocket is false for the plain TCP echo, which speaks no framing
	// and so answers the load generator's bytes as they are.
	WebSocket bool
	// Serve runs the server.
	Serve Serve
	// CanBroadcast and CanCompress say which Options the server honours;
	// the runner leaves a library out of the scenarios it cannot run.
	CanBroadcast, CanCompress bool
	// CompressOnly runs the library in compression scenarios alone: a
	// variant that differs from another only in its codec.
	CompressOnly bool
	// IdleOnly runs the library in the idle scenario alone: a variant
	// that differs from another only in its router, which matters for
	// what an idle connection holds and little for anything else.
	IdleOnly bool
	// ConnRateOnly runs the library in the handshake scenario alone: a
	// floor that completes handshakes and closes and does nothing else.
	ConnRateOnly bool
}

var registry = map[string]Library{}

// register is called from the init function of each library's file, so
// that a library whose file is absent (for example ours, while its core
// does not build yet) simply is not offered.
func register(l Library) {
	if _, dup := registry[l.Name]; dup {
		panic("servers: library registered twice: " + l.Name)
	}
	registry[l.Name] = l
}

// Lookup returns the library registered under name.
func Lookup(name string) (Library, error) {
	l, ok := registry[name]
	if !ok {
		return Library{}, fmt.Errorf("unknown library %q (known: %v)", name, Names())
	}
	return l, nil
}

// Names lists the registered libraries in the order tables show them: ours
// first, then the reference rival, then the others, the servers on Fiber,
// the handshake floors, and the TCP floor last.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

func rank(name string) int {
	switch name {
	case "gws":
		return 0
	case "gws-klauspost", "gws-poller":
		return 1
	case "lxzan":
		return 1
	case "gws-poller-gin", "gws-poller-echo", "gws-poller-fasthttp", "gws-poller-fiber":
		return 1
	case "gws-fiber", "gws-fiberv3":
		// The servers on Fiber together after those on net/http, so
		// Fiber's users can compare them side by side.
		return 3
	case "fiber":
		return 4
	case "floor-nethttp", "floor-fasthttp":
		return 5
	case "tcp":
		return 6
	}
	return 2
}
