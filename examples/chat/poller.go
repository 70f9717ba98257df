package main

import "flag"

// usePoller is -poller: the chat's connections wait in gws's epoll set
// instead of on a goroutine each (ServerOptions.Poller, Linux), which is
// what a server holding many idle users wants. newServer reads it.
var usePoller bool

func init() {
	flag.BoolVar(&usePoller, "poller", false, "park idle connections in an epoll set instead of on a goroutine each (ServerOptions.Poller; Linux)")
}
