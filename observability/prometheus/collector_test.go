package gwsprom_test

import (
	"strings"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	gwsprom "github.com/gwsgo/gws/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCollectorExportsEverySeries checks the whole exposition of an
// Upgrader that has served nothing yet: every series exists from the
// start, each label value of the fixed sets at 0 (so rate() works from
// the first scrape), with the constant labels and buckets asked for.
// Traffic is counted by the tests of observability/test and
// examples/chat, which open connections.
func TestCollectorExportsEverySeries(t *testing.T) {
	u := &gws.Upgrader{}
	c := gwsprom.NewCollector(u, &gwsprom.Options{ConstLabels: prometheus.Labels{"upgrader": "chat"}, Buckets: []float64{.001, .01}})
	u.ObserveHandler(nil, 3*time.Millisecond)
	u.ObserveHandler(nil, 20*time.Millisecond)
	if err := testutil.CollectAndCompare(c, strings.NewReader(wantExposition)); err != nil {
		t.Fatal(err)
	}
}

const wantExposition = `
# HELP gws_bytes_received_total Payload bytes of the messages received, decompressed.
# TYPE gws_bytes_received_total counter
gws_bytes_received_total{upgrader="chat"} 0
# HELP gws_bytes_sent_total Payload bytes of the messages sent, before compression.
# TYPE gws_bytes_sent_total counter
gws_bytes_sent_total{upgrader="chat"} 0
# HELP gws_connections_closed_by_cause_total Connections ended, by what began the end.
# TYPE gws_connections_closed_by_cause_total counter
gws_connections_closed_by_cause_total{cause="heartbeat_timeout",upgrader="chat"} 0
gws_connections_closed_by_cause_total{cause="io_error",upgrader="chat"} 0
gws_connections_closed_by_cause_total{cause="local_close",upgrader="chat"} 0
gws_connections_closed_by_cause_total{cause="memory_budget",upgrader="chat"} 0
gws_connections_closed_by_cause_total{cause="peer_close",upgrader="chat"} 0
gws_connections_closed_by_cause_total{cause="protocol_error",upgrader="chat"} 0
gws_connections_closed_by_cause_total{cause="shutdown",upgrader="chat"} 0
gws_connections_closed_by_cause_total{cause="slow_consumer",upgrader="chat"} 0
gws_connections_closed_by_cause_total{cause="write_timeout",upgrader="chat"} 0
# HELP gws_connections_closed_total Connections ended, by the class of their close code.
# TYPE gws_connections_closed_total counter
gws_connections_closed_total{code_class="abnormal",upgrader="chat"} 0
gws_connections_closed_total{code_class="going_away",upgrader="chat"} 0
gws_connections_closed_total{code_class="message_too_big",upgrader="chat"} 0
gws_connections_closed_total{code_class="normal",upgrader="chat"} 0
gws_connections_closed_total{code_class="other",upgrader="chat"} 0
gws_connections_closed_total{code_class="policy_violation",upgrader="chat"} 0
gws_connections_closed_total{code_class="protocol_error",upgrader="chat"} 0
# HELP gws_connections_open WebSocket connections open.
# TYPE gws_connections_open gauge
gws_connections_open{upgrader="chat"} 0
# HELP gws_connections_total WebSocket connections opened (handshakes answered with 101).
# TYPE gws_connections_total counter
gws_connections_total{upgrader="chat"} 0
# HELP gws_handler_duration_seconds Time the middleware and OnMessage took per message.
# TYPE gws_handler_duration_seconds histogram
gws_handler_duration_seconds_bucket{upgrader="chat",le="0.001"} 0
gws_handler_duration_seconds_bucket{upgrader="chat",le="0.01"} 1
gws_handler_duration_seconds_bucket{upgrader="chat",le="+Inf"} 2
gws_handler_duration_seconds_sum{upgrader="chat"} 0.023
gws_handler_duration_seconds_count{upgrader="chat"} 2
# HELP gws_handshakes_refused_total Opening handshakes refused, by reason.
# TYPE gws_handshakes_refused_total counter
gws_handshakes_refused_total{reason="bad_request",upgrader="chat"} 0
gws_handshakes_refused_total{reason="internal",upgrader="chat"} 0
gws_handshakes_refused_total{reason="method",upgrader="chat"} 0
gws_handshakes_refused_total{reason="origin",upgrader="chat"} 0
gws_handshakes_refused_total{reason="shutting_down",upgrader="chat"} 0
gws_handshakes_refused_total{reason="version",upgrader="chat"} 0
# HELP gws_messages_dropped_total Messages WriteAsync or Broadcast dropped because the peer read too slowly.
# TYPE gws_messages_dropped_total counter
gws_messages_dropped_total{upgrader="chat"} 0
# HELP gws_messages_received_total Text and binary messages received.
# TYPE gws_messages_received_total counter
gws_messages_received_total{upgrader="chat"} 0
# HELP gws_messages_sent_total Text and binary messages written to the network.
# TYPE gws_messages_sent_total counter
gws_messages_sent_total{upgrader="chat"} 0
# HELP gws_slow_consumers_closed_total Connections closed with 1008 because the peer read too slowly (SlowClose).
# TYPE gws_slow_consumers_closed_total counter
gws_slow_consumers_closed_total{upgrader="chat"} 0
`

// TestCollectorLint runs Prometheus's own linter over the metrics: names,
// units and suffixes as its conventions want them.
func TestCollectorLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(gwsprom.NewCollector(&gws.Upgrader{}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestCollectorKeepsObserveHandler checks that a Collector times handlers
// without taking the hook from whoever set it first, so two modules can
// observe one Upgrader.
func TestCollectorKeepsObserveHandler(t *testing.T) {
	var before []time.Duration
	u := &gws.Upgrader{ObserveHandler: func(_ *gws.Conn, d time.Duration) { before = append(before, d) }}
	c := gwsprom.NewCollector(u, nil)
	u.ObserveHandler(nil, time.Millisecond)
	if len(before) != 1 || before[0] != time.Millisecond {
		t.Fatalf("the earlier ObserveHandler saw %v, want [1ms]", before)
	}
	if n := testutil.CollectAndCount(c, "gws_handler_duration_seconds"); n != 1 {
		t.Fatalf("%d handler-duration series, want 1", n)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP gws_handler_duration_seconds Time the middleware and OnMessage took per message.
# TYPE gws_handler_duration_seconds histogram
gws_handler_duration_seconds_bucket{le="0.0001"} 0
gws_handler_duration_seconds_bucket{le="0.00025"} 0
gws_handler_duration_seconds_bucket{le="0.0005"} 0
gws_handler_duration_seconds_bucket{le="0.001"} 1
gws_handler_duration_seconds_bucket{le="0.0025"} 1
gws_handler_duration_seconds_bucket{le="0.005"} 1
gws_handler_duration_seconds_bucket{le="0.01"} 1
gws_handler_duration_seconds_bucket{le="0.025"} 1
gws_handler_duration_seconds_bucket{le="0.05"} 1
gws_handler_duration_seconds_bucket{le="0.1"} 1
gws_handler_duration_seconds_bucket{le="0.25"} 1
gws_handler_duration_seconds_bucket{le="0.5"} 1
gws_handler_duration_seconds_bucket{le="1"} 1
gws_handler_duration_seconds_bucket{le="2.5"} 1
gws_handler_duration_seconds_bucket{le="5"} 1
gws_handler_duration_seconds_bucket{le="10"} 1
gws_handler_duration_seconds_bucket{le="+Inf"} 1
gws_handler_duration_seconds_sum 0.001
gws_handler_duration_seconds_count 1
`), "gws_handler_duration_seconds"); err != nil {
		t.Fatal(err)
	}
}
