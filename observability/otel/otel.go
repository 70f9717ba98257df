// Package gwsotel records the figures of a gws Upgrader as OpenTelemetry
// instruments: observable counters that read Upgrader.Stats when the
// MeterProvider's reader collects, and a histogram of handler durations
// fed by Upgrader.ObserveHandler.
//
//	upgrader := &gws.Upgrader{}
//	if _, err := gwsotel.Instrument(upgrader, meterProvider, nil); err != nil {
//		return err
//	}
//
// Attribute values come from fixed sets (refusal reasons, close-code
// classes, causes), so the number of series does not grow with traffic.
package gwsotel

import (
	"context"
	"time"

	gws "github.com/gwsgo/gws/core"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the Meter that Instrument
// takes from the MeterProvider.
const ScopeName = "github.com/gwsgo/gws/observability/otel"

// Options configures Instrument. The zero value, like a nil *Options,
// means no extra attributes and DefaultBuckets.
type Options struct {
	// Attributes are put on every measurement, to tell apart several
	// Upgraders of one process: attribute.String("upgrader", "chat").
	// nil means none.
	Attributes []attribute.KeyValue

	// Buckets are the explicit bucket boundaries, in seconds, that the
	// handler-duration histogram advises (a View of the MeterProvider
	// can override them). nil means DefaultBuckets.
	Buckets []float64
}

// DefaultBuckets are the handler-duration buckets, from 100 µs to 10 s:
// message handlers take microseconds to milliseconds, far below the SDK's
// default boundaries, which are made for HTTP requests in milliseconds.
var DefaultBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Instrument records u's figures with instruments of a Meter from mp
// (nil means otel.GetMeterProvider()). It sets u.ObserveHandler to time
// every message, calling the function that was there before too, so call
// it before u serves its first request. opts may be nil. Unregistering
// the returned Registration stops the observable instruments; the
// histogram goes on being fed.
func Instrument(u *gws.Upgrader, mp metric.MeterProvider, opts *Options) (metric.Registration, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if opts == nil {
		opts = &Options{}
	}
	buckets := opts.Buckets
	if buckets == nil {
		buckets = DefaultBuckets
	}
	m := mp.Meter(ScopeName)
	var err error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, e := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		if err == nil {
			err = e
		}
		return c
	}
	open, e := m.Int64ObservableUpDownCounter("gws.connections.open", metric.WithUnit("{connection}"), metric.WithDescription("WebSocket connections open."))
	if e != nil {
		return nil, e
	}
	opened := counter("gws.connections.opened", "{connection}", "WebSocket connections opened (handshakes answered with 101).")
	refused := counter("gws.handshakes.refused", "{handshake}", "Opening handshakes refused, by reason.")
	msgsIn := counter("gws.messages.received", "{message}", "Text and binary messages received.")
	bytesIn := counter("gws.bytes.received", "By", "Payload bytes of the messages received, decompressed.")
	msgsOut := counter("gws.messages.sent", "{message}", "Text and binary messages written to the network.")
	bytesOut := counter("gws.bytes.sent", "By", "Payload bytes of the messages sent, before compression.")
	closed := counter("gws.connections.closed", "{connection}", "Connections ended, by the class of their close code.")
	closedBy := counter("gws.connections.closed_by_cause", "{connection}", "Connections ended, by what began the end.")
	dropped := counter("gws.messages.dropped", "{message}", "Messages WriteAsync or Broadcast dropped because the peer read too slowly.")
	slowClosed := counter("gws.slow_consumers.closed", "{connection}", "Connections closed with 1008 because the peer read too slowly (SlowClose).")
	if err != nil {
		return nil, err
	}
	handler, err := m.Float64Histogram("gws.handler.duration", metric.WithUnit("s"),
		metric.WithDescription("Time the middleware and OnMessage took per message."),
		metric.WithExplicitBucketBoundaries(buckets...))
	if err != nil {
		return nil, err
	}

	base := metric.WithAttributes(opts.Attributes...)
	labelled := func(key, value string) metric.ObserveOption {
		return metric.WithAttributes(append(opts.Attributes[:len(opts.Attributes):len(opts.Attributes)], attribute.String(key, value))...)
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := u.Stats()
		o.ObserveInt64(open, int64(s.Conns), base)
		o.ObserveInt64(opened, s.Opened, base)
		for reason, n := range s.Refused {
			o.ObserveInt64(refused, n, labelled("reason", reason))
		}
		o.ObserveInt64(msgsIn, s.MessagesReceived, base)
		o.ObserveInt64(bytesIn, s.BytesReceived, base)
		o.ObserveInt64(msgsOut, s.MessagesSent, base)
		o.ObserveInt64(bytesOut, s.BytesSent, base)
		for class, n := range s.Closed {
			o.ObserveInt64(closed, n, labelled("code_class", class))
		}
		for cause, n := range s.ClosedBy {
			o.ObserveInt64(closedBy, n, labelled("cause", cause))
		}
		o.ObserveInt64(dropped, s.Dropped, base)
		o.ObserveInt64(slowClosed, s.ClosedSlow, base)
		return nil
	}, open, opened, refused, msgsIn, bytesIn, msgsOut, bytesOut, closed, closedBy, dropped, slowClosed)
	if err != nil {
		return nil, err
	}

	// Built once: a measurement's options would otherwise be a slice made
	// per message.
	var record []metric.RecordOption
	if len(opts.Attributes) > 0 {
		record = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(opts.Attributes...))}
	}
	prev := u.ObserveHandler
	u.ObserveHandler = func(s *gws.Conn, took time.Duration) {
		handler.Record(context.Background(), took.Seconds(), record...)
		if prev != nil {
			prev(s, took)
		}
	}
	return reg, nil
}
