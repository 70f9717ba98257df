package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	gws "github.com/gwsgo/gws/core"
	gwsprom "github.com/gwsgo/gws/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsOn listens on addr for Prometheus and returns what run calls
// with the chat's Upgrader to serve its metrics there; nil when addr is
// "". The metrics have an address of their own so that they are not
// served to the users of the chat.
func metricsOn(addr string) (func(*gws.Upgrader), error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("chat: -metrics: %w", err)
	}
	log.Printf("chat: metrics at http://%s/metrics", ln.Addr())
	return func(u *gws.Upgrader) { serveMetrics(ln, u) }, nil
}

// serveMetrics serves the Upgrader's metrics (gws_*) and the Go
// runtime's (go_*) at /metrics on ln until ln is closed. It must be called
// before the Upgrader serves: the collector times its handlers.
func serveMetrics(ln net.Listener, u *gws.Upgrader) {
	registry := prometheus.NewRegistry()
	registry.MustRegister(gwsprom.NewCollector(u, nil), collectors.NewGoCollector())
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
}
