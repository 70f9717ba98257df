package gwsotel_test

import (
	"context"
	"fmt"
	"net/http"

	gws "github.com/gwsgo/gws/core"
	gwsotel "github.com/gwsgo/gws/observability/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
)

// A server instruments its Upgrader before serving, with the application's
// MeterProvider (here one that records nothing; an SDK's with an exporter
// in a real program).
func ExampleInstrument() {
	upgrader := &gws.Upgrader{}
	_, err := gwsotel.Instrument(upgrader, noop.NewMeterProvider(), &gwsotel.Options{
		Attributes: []attribute.KeyValue{attribute.String("upgrader", "chat")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		upgrader.Upgrade(context.Background(), w, r, gws.NopHandler{})
	})
	fmt.Println("handlers timed:", upgrader.ObserveHandler != nil)
	// Output: handlers timed: true
}
