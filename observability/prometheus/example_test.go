package gwsprom_test

import (
	"context"
	"fmt"
	"net/http"

	gws "github.com/gwsgo/gws/core"
	gwsprom "github.com/gwsgo/gws/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A server registers one Collector per Upgrader, before serving, and
// exposes the registry at /metrics.
func Example() {
	upgrader := &gws.Upgrader{}
	registry := prometheus.NewRegistry()
	registry.MustRegister(gwsprom.NewCollector(upgrader, nil))

	http.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		upgrader.Upgrade(context.Background(), w, r, gws.NopHandler{})
	})

	families, _ := registry.Gather()
	for _, f := range families {
		fmt.Println(f.GetType(), f.GetName(), len(f.GetMetric()))
	}
	// Output:
	// COUNTER gws_bytes_received_total 1
	// COUNTER gws_bytes_sent_total 1
	// COUNTER gws_connections_closed_by_cause_total 9
	// COUNTER gws_connections_closed_total 7
	// GAUGE gws_connections_open 1
	// COUNTER gws_connections_total 1
	// HISTOGRAM gws_handler_duration_seconds 1
	// COUNTER gws_handshakes_refused_total 6
	// COUNTER gws_messages_dropped_total 1
	// COUNTER gws_messages_received_total 1
	// COUNTER gws_messages_sent_total 1
	// COUNTER gws_slow_consumers_closed_total 1
}

// Several Upgraders in one process are told apart by a constant label.
func ExampleNewCollector_constLabels() {
	chat, feed := &gws.Upgrader{}, &gws.Upgrader{}
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		gwsprom.NewCollector(chat, &gwsprom.Options{ConstLabels: prometheus.Labels{"upgrader": "chat"}}),
		gwsprom.NewCollector(feed, &gwsprom.Options{ConstLabels: prometheus.Labels{"upgrader": "feed"}}),
	)
	families, _ := registry.Gather()
	for _, m := range families[0].GetMetric() {
		fmt.Println(families[0].GetName(), m.GetLabel()[0].GetValue())
	}
	// Output:
	// gws_bytes_received_total chat
	// gws_bytes_received_total feed
}
