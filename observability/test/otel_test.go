package test

import (
	"context"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	gwsotel "github.com/gwsgo/gws/observability/otel"
	gwsprom "github.com/gwsgo/gws/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestInstrumentOptions checks the attributes and buckets Instrument is
// given, on every measurement, and that it keeps an ObserveHandler set
// before it.
func TestInstrumentOptions(t *testing.T) {
	var before int
	u := &gws.Upgrader{ObserveHandler: func(*gws.Conn, time.Duration) { before++ }}
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	chat := attribute.String("upgrader", "chat")
	reg, err := gwsotel.Instrument(u, provider, &gwsotel.Options{Attributes: []attribute.KeyValue{chat}, Buckets: []float64{.001, .01}})
	if err != nil {
		t.Fatal(err)
	}
	u.ObserveHandler(nil, 3*time.Millisecond)
	u.ObserveHandler(nil, 20*time.Millisecond)
	if before != 2 {
		t.Fatalf("the earlier ObserveHandler was called %d times, want 2", before)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	points := 0
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				points++
				if v, ok := p.Attributes.Value("upgrader"); !ok || v.AsString() != "chat" {
					t.Errorf("%s %v: no upgrader=chat", m.Name, p.Attributes.ToSlice())
				}
			}
			if d.IsMonotonic != (m.Name != "gws.connections.open") {
				t.Errorf("%s: monotonic %v", m.Name, d.IsMonotonic)
			}
		case metricdata.Histogram[float64]:
			p := d.DataPoints[0]
			if v, _ := p.Attributes.Value("upgrader"); v.AsString() != "chat" || p.Count != 2 || len(p.Bounds) != 2 || p.BucketCounts[1] != 1 || p.BucketCounts[2] != 1 || m.Unit != "s" {
				t.Errorf("%s: %+v, unit %q", m.Name, p, m.Unit)
			}
		}
	}
	// 8 one-series counters and gauges, 6 reasons, 7 classes, 9 causes.
	if points != 8+6+7+9 {
		t.Errorf("%d series, want 30", points)
	}

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	rm = metricdata.ResourceMetrics{}
	reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "gws.handler.duration" {
			t.Errorf("%s still reported after Unregister", m.Name)
		}
	}
}

// TestObserveHandlerAllocatesNothing checks that timing a message costs
// neither module an allocation, with constant labels or attributes too.
func TestObserveHandlerAllocatesNothing(t *testing.T) {
	u := &gws.Upgrader{}
	prometheus.NewRegistry().MustRegister(gwsprom.NewCollector(u, &gwsprom.Options{ConstLabels: prometheus.Labels{"upgrader": "chat"}}))
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer provider.Shutdown(context.Background())
	if _, err := gwsotel.Instrument(u, provider, &gwsotel.Options{Attributes: []attribute.KeyValue{attribute.String("upgrader", "chat")}}); err != nil {
		t.Fatal(err)
	}
	u.ObserveHandler(nil, time.Millisecond) // the SDK makes the series on first use
	if n := testing.AllocsPerRun(1000, func() { u.ObserveHandler(nil, time.Millisecond) }); n != 0 {
		t.Fatalf("%v allocations per message timed", n)
	}
}
