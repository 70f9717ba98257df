// Package gwsprom exports the figures of a gws Upgrader to Prometheus: a
// prometheus.Collector that reads Upgrader.Stats at each scrape, and a
// histogram of handler durations fed by Upgrader.ObserveHandler.
//
//	upgrader := &gws.Upgrader{}
//	prometheus.MustRegister(gwsprom.NewCollector(upgrader, nil))
//	http.Handle("/metrics", promhttp.Handler())
//
// Label values come from fixed sets (refusal reasons, close-code classes,
// causes), so the number of series does not grow with traffic.
package gwsprom

import (
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configures a Collector. The zero value, like a nil *Options,
// means no constant labels and DefaultBuckets.
type Options struct {
	// ConstLabels are put on every metric, to tell apart several Upgraders
	// of one process: prometheus.Labels{"upgrader": "chat"}. nil means
	// none.
	ConstLabels prometheus.Labels

	// Buckets are the upper bounds, in seconds, of the handler-duration
	// histogram's buckets. nil means DefaultBuckets.
	Buckets []float64
}

// DefaultBuckets are the handler-duration buckets, from 100 µs to 10 s:
// message handlers take microseconds to milliseconds, far below
// prometheus.DefBuckets, which are made for HTTP requests.
var DefaultBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Collector is a prometheus.Collector of one Upgrader's figures: the
// counters of Upgrader.Stats, read at each scrape, and a histogram of how
// long the middleware and OnMessage take per message.
type Collector struct {
	u       *gws.Upgrader
	handler prometheus.Histogram

	open, opened, refused                 *prometheus.Desc
	msgsIn, bytesIn, msgsOut, bytesOut    *prometheus.Desc
	closed, closedBy, dropped, slowClosed *prometheus.Desc
}

// NewCollector returns a Collector of u's figures, to register with a
// prometheus.Registerer. It sets u.ObserveHandler to time every message,
// calling the function that was there before too, so call it before u
// serves its first request. opts may be nil.
func NewCollector(u *gws.Upgrader, opts *Options) *Collector {
	if opts == nil {
		opts = &Options{}
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("gws_"+name, help, labels, opts.ConstLabels)
	}
	buckets := opts.Buckets
	if buckets == nil {
		buckets = DefaultBuckets
	}
	c := &Collector{
		u: u,
		handler: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        "gws_handler_duration_seconds",
			Help:        "Time the middleware and OnMessage took per message.",
			ConstLabels: opts.ConstLabels,
			Buckets:     buckets,
		}),
		open:       desc("connections_open", "WebSocket connections open."),
		opened:     desc("connections_total", "WebSocket connections opened (handshakes answered with 101)."),
		refused:    desc("handshakes_refused_total", "Opening handshakes refused, by reason.", "reason"),
		msgsIn:     desc("messages_received_total", "Text and binary messages received."),
		bytesIn:    desc("bytes_received_total", "Payload bytes of the messages received, decompressed."),
		msgsOut:    desc("messages_sent_total", "Text and binary messages written to the network."),
		bytesOut:   desc("bytes_sent_total", "Payload bytes of the messages sent, before compression."),
		closed:     desc("connections_closed_total", "Connections ended, by the class of their close code.", "code_class"),
		closedBy:   desc("connections_closed_by_cause_total", "Connections ended, by what began the end.", "cause"),
		dropped:    desc("messages_dropped_total", "Messages WriteAsync or Broadcast dropped because the peer read too slowly."),
		slowClosed: desc("slow_consumers_closed_total", "Connections closed with 1008 because the peer read too slowly (SlowClose)."),
	}
	prev := u.ObserveHandler
	u.ObserveHandler = func(s *gws.Conn, took time.Duration) {
		c.handler.Observe(took.Seconds())
		if prev != nil {
			prev(s, took)
		}
	}
	return c
}

// Describe sends the descriptions of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.opened, c.refused, c.msgsIn, c.bytesIn, c.msgsOut, c.bytesOut, c.closed, c.closedBy, c.dropped, c.slowClosed} {
		ch <- d
	}
	c.handler.Describe(ch)
}

// Collect reads the Upgrader's Stats once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.u.Stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v int64, label ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label...)
	}
	gauge(c.open, float64(s.Conns))
	counter(c.opened, s.Opened)
	for reason, n := range s.Refused {
		counter(c.refused, n, reason)
	}
	counter(c.msgsIn, s.MessagesReceived)
	counter(c.bytesIn, s.BytesReceived)
	counter(c.msgsOut, s.MessagesSent)
	counter(c.bytesOut, s.BytesSent)
	for class, n := range s.Closed {
		counter(c.closed, n, class)
	}
	for cause, n := range s.ClosedBy {
		counter(c.closedBy, n, cause)
	}
	counter(c.dropped, s.Dropped)
	counter(c.slowClosed, s.ClosedSlow)
	c.handler.Collect(ch)
}
