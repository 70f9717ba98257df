package main

import (
	"net"
	"net/http"
	"time"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
)

// server serves WebSocket echo on ln with one router until ln is closed.
type server func(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error

// routers maps each -router value to the code that mounts gws on it.
var routers = map[string]server{
	"nethttp": serveNetHTTP,
}

func serveNetHTTP(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error {
	srv := &http.Server{Handler: gwshttp.Handler(u, h), ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}
