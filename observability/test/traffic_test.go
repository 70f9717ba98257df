package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
	gwsotel "github.com/gwsgo/gws/observability/otel"
	gwsprom "github.com/gwsgo/gws/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// wait bounds every read, so a silent server fails the test instead of
// hanging it.
const wait = 5 * time.Second

// tally is what the test counts from the clients' side: what the clients
// sent is what the server received, and the other way round.
type tally struct {
	in, inBytes, out, outBytes atomic.Int64
}

func (t *tally) sent(p []byte)     { t.in.Add(1); t.inBytes.Add(int64(len(p))) }
func (t *tally) received(p []byte) { t.out.Add(1); t.outBytes.Add(int64(len(p))) }

// server answers what clients send: "close-me" with close 4000,
// "flood:N" with N 64 KiB messages through WriteAsync, telling flooded how
// many of them WriteAsync's callback said were dropped, and anything else
// with an echo.
type server struct {
	gws.NopHandler
	flooded chan int64
}

var flood = make([]byte, 64<<10)

func (s *server) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	p := m.Bytes()
	switch {
	case string(p) == "close-me":
		c.WriteClose(4000, nil)
	case bytes.HasPrefix(p, []byte("flood:")):
		n, _ := strconv.Atoi(string(p[len("flood:"):]))
		// SlowDrop decides at once, so the callbacks of the dropped
		// messages have all run when the loop ends.
		var dropped atomic.Int64
		for range n {
			c.WriteAsync(gws.OpcodeBinary, flood, func(err error) {
				if errors.Is(err, gws.ErrWriteQueueFull) {
					dropped.Add(1)
				}
			})
		}
		s.flooded <- dropped.Load()
	default:
		c.Write(m.Opcode, p)
	}
}

// opaqueWriter hides the connection from http.ResponseController, as a
// logging wrapper without Unwrap does: gws must answer 500.
type opaqueWriter struct{ http.ResponseWriter }

// TestSameTrafficBothExporters drives one Upgrader through every way a
// handshake is refused and a connection ends, with messages both ways, a
// slow consumer and a silent peer, and checks that Prometheus's text
// format (as a scrape reads it) and the OpenTelemetry SDK's ManualReader
// both give exactly what the test counted.
func TestSameTrafficBothExporters(t *testing.T) {
	u := &gws.Upgrader{ServerOptions: &gws.ServerOptions{
		PingInterval:       100 * time.Millisecond,
		PingTimeout:        500 * time.Millisecond,
		WriteQueueMessages: 8,
	}}
	registry := prometheus.NewRegistry()
	registry.MustRegister(gwsprom.NewCollector(u, nil))
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	if _, err := gwsotel.Instrument(u, provider, nil); err != nil {
		t.Fatal(err)
	}

	srv := &server{flooded: make(chan int64, 1)}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		u.Upgrade(context.Background(), w, r, srv)
	})
	mux.HandleFunc("/opaque", func(w http.ResponseWriter, r *http.Request) {
		u.Upgrade(context.Background(), opaqueWriter{w}, r, srv)
	})
	addr := routertest.ServeHTTP(t, mux)
	var tl tally

	// Refused: one of each reason but 503, which comes with the shutdown.
	refuse(t, addr, "/ws", http.Header{"Sec-WebSocket-Version": {"8"}}, http.StatusUpgradeRequired)
	refuse(t, addr, "/ws", http.Header{"Origin": {"http://elsewhere.example"}}, http.StatusForbidden)
	refuse(t, addr, "/opaque", nil, http.StatusInternalServerError)
	if status, _ := routertest.HTTPGet(t, "http://"+addr+"/ws", nil); status != http.StatusBadRequest {
		t.Fatalf("plain GET: %d, want 400", status)
	}
	resp, err := http.Post("http://"+addr+"/ws", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d, want 405", resp.StatusCode)
	}

	// Well-behaved clients: gws's own, which answer pings and closes.
	a, b, c := dial(t, addr, &tl), dial(t, addr, &tl), dial(t, addr, &tl)
	for i, p := range []string{"hello", "", "a longer message, with more bytes in it", "é"} {
		a.roundTrip(gws.OpcodeText, []byte(p))
		b.roundTrip(gws.OpcodeBinary, bytes.Repeat([]byte{byte(i)}, 100*i))
	}

	// A slow consumer: it asks for a flood of 25 MiB and reads nothing
	// until the flood has been queued, so most of it is dropped; then it
	// reads all that was not, and breaks the protocol with a text message
	// that is not UTF-8.
	slow := rawDial(t, addr, &tl)
	const floodSize = 400
	slow.send(rawclient.OpText, []byte(fmt.Sprint("flood:", floodSize)))
	var dropped int64
	select {
	case dropped = <-srv.flooded:
	case <-time.After(wait):
		t.Fatal("no flood")
	}
	for range floodSize - dropped {
		slow.next()
	}
	if err := slow.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: []byte{0xff}}); err != nil {
		t.Fatal(err)
	}
	slow.expectClose(1007)

	// A silent peer, dropped by the heartbeat; a peer that drops TCP.
	silent := rawDial(t, addr, &tl)
	gone := rawDial(t, addr, &tl)
	gone.send(rawclient.OpText, []byte("bye"))
	gone.next()
	gone.c.Close()
	silent.readToEnd()

	// The server closes one, a client closes one, and the shutdown the
	// last, while a late handshake is refused.
	c.write(gws.OpcodeText, []byte("close-me"))
	c.waitClosed(t)
	b.conn.WriteClose(gws.CloseNormal, nil)
	b.waitClosed(t)
	shutdown := make(chan error, 1)
	go func() { shutdown <- u.Shutdown(context.Background()) }()
	a.waitClosed(t)
	refuse(t, addr, "/ws", nil, http.StatusServiceUnavailable)
	if err := <-shutdown; err != nil {
		t.Fatal(err)
	}

	// Keyed by the Prometheus name without gws_, labels in braces.
	want := map[string]float64{
		"connections_open":               0,
		"connections_total":              6,
		"messages_received_total":        float64(tl.in.Load()),
		"bytes_received_total":           float64(tl.inBytes.Load()),
		"messages_sent_total":            float64(tl.out.Load()),
		"bytes_sent_total":               float64(tl.outBytes.Load()),
		"messages_dropped_total":         float64(dropped),
		"slow_consumers_closed_total":    0,
		"handler_duration_seconds_count": float64(tl.in.Load()),
	}
	for _, reason := range []string{"bad_request", "origin", "method", "version", "shutting_down", "internal"} {
		want["handshakes_refused_total{reason="+reason+"}"] = 1
	}
	for class, n := range map[string]float64{"normal": 1, "going_away": 1, "protocol_error": 1, "policy_violation": 0, "message_too_big": 0, "abnormal": 2, "other": 1} {
		want["connections_closed_total{code_class="+class+"}"] = n
	}
	for cause, n := range map[string]float64{"peer_close": 1, "local_close": 1, "shutdown": 1, "protocol_error": 1, "io_error": 1, "heartbeat_timeout": 1, "write_timeout": 0, "slow_consumer": 0, "memory_budget": 0} {
		want["connections_closed_by_cause_total{cause="+cause+"}"] = n
	}
	if want["messages_dropped_total"] == 0 {
		t.Fatal("nothing of the flood was dropped: the test did not make a slow consumer")
	}

	fromProm := scrape(t, "http://"+addr+"/metrics")
	fromOTel := collect(t, reader)
	for name, v := range want {
		if fromProm[name] != v {
			t.Errorf("Prometheus %s = %v, want %v", name, fromProm[name], v)
		}
		if fromOTel[name] != v {
			t.Errorf("OpenTelemetry %s = %v, want %v", name, fromOTel[name], v)
		}
	}
	for _, got := range []map[string]float64{fromProm, fromOTel} {
		if extra := slices.DeleteFunc(slices.Sorted(maps.Keys(got)), func(k string) bool { _, ok := want[k]; return ok }); len(extra) > 0 {
			t.Errorf("series the test does not check: %v", extra)
		}
	}
	t.Logf("%d messages in, %d out, %d of a flood of %d dropped", tl.in.Load(), tl.out.Load(), dropped, floodSize)
}

func refuse(t *testing.T, addr, path string, h http.Header, status int) {
	t.Helper()
	c, resp, err := rawclient.Dial(addr, path, h)
	if err == nil {
		c.Close()
		t.Fatalf("%s %v: upgraded, want %d", path, h, status)
	}
	if resp == nil || resp.StatusCode != status {
		t.Fatalf("%s %v: %v, want %d", path, h, err, status)
	}
}

// scrape reads a Prometheus endpoint with Prometheus's own text parser
// and returns the gws series by name without gws_, labels in braces, and
// a histogram by its count.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The legacy scheme, the stricter one: names any Prometheus accepts.
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range families {
		name = strings.TrimPrefix(name, "gws_")
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[key+"_count"] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// promNames are the Prometheus names of the OpenTelemetry instruments, as
// the two modules' READMEs pair them.
var promNames = map[string]string{
	"gws.connections.open":            "connections_open",
	"gws.connections.opened":          "connections_total",
	"gws.handshakes.refused":          "handshakes_refused_total",
	"gws.messages.received":           "messages_received_total",
	"gws.bytes.received":              "bytes_received_total",
	"gws.messages.sent":               "messages_sent_total",
	"gws.bytes.sent":                  "bytes_sent_total",
	"gws.connections.closed":          "connections_closed_total",
	"gws.connections.closed_by_cause": "connections_closed_by_cause_total",
	"gws.messages.dropped":            "messages_dropped_total",
	"gws.slow_consumers.closed":       "slow_consumers_closed_total",
	"gws.handler.duration":            "handler_duration_seconds",
}

// collect reads the ManualReader and returns the gws instruments as scrape
// does, by their Prometheus names.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != gwsotel.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			name, ok := promNames[m.Name]
			if !ok {
				t.Errorf("instrument %s has no Prometheus twin", m.Name)
			}
			key := func(attrs attribute.Set) string {
				k := name
				for _, kv := range attrs.ToSlice() {
					k += "{" + string(kv.Key) + "=" + kv.Value.AsString() + "}"
				}
				return k
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[key(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[key(p.Attributes)+"_count"] = float64(p.Count)
				}
			default:
				t.Errorf("%s: %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// client is a gws client that counts what it sends and receives.
type client struct {
	t    *testing.T
	tl   *tally
	conn *gws.Conn
	msgs chan []byte
}

func dial(t *testing.T, addr string, tl *tally) *client {
	t.Helper()
	c := &client{t: t, tl: tl, msgs: make(chan []byte, 16)}
	conn, _, err := gws.Dial(context.Background(), "ws://"+addr+"/ws", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.conn = conn
	t.Cleanup(func() { conn.Close(); <-conn.Context.Done() })
	return c
}

func (c *client) OnOpen(*gws.Conn)                    {}
func (c *client) OnClose(*gws.Conn, gws.Code, []byte) {}
func (c *client) OnError(*gws.Conn, error)            {}
func (c *client) OnPing(*gws.Conn, []byte)            {}
func (c *client) OnPong(*gws.Conn, []byte)            {}
func (c *client) OnMessage(_ *gws.Conn, m *gws.Message) {
	p := bytes.Clone(m.Bytes())
	m.Close()
	c.tl.received(p)
	c.msgs <- p
}

func (c *client) write(op gws.Opcode, p []byte) {
	c.t.Helper()
	if err := c.conn.Write(op, p); err != nil {
		c.t.Fatal(err)
	}
	c.tl.sent(p)
}

func (c *client) roundTrip(op gws.Opcode, p []byte) {
	c.t.Helper()
	c.write(op, p)
	select {
	case got := <-c.msgs:
		if !bytes.Equal(got, p) {
			c.t.Fatalf("echo %.20q, want %.20q", got, p)
		}
	case <-time.After(wait):
		c.t.Fatalf("no echo of %.20q", p)
	}
}

func (c *client) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-c.conn.Context.Done():
	case <-time.After(wait):
		t.Fatal("the connection did not end")
	}
}

// rawClient writes and reads frames itself, for peers that misbehave; it
// answers pings while it reads.
type rawClient struct {
	t  *testing.T
	tl *tally
	c  *rawclient.Conn
}

func rawDial(t *testing.T, addr string, tl *tally) *rawClient {
	t.Helper()
	c, _, err := rawclient.Dial(addr, "/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, tl: tl, c: c}
}

func (r *rawClient) send(op rawclient.Opcode, p []byte) {
	r.t.Helper()
	if err := r.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: op, Payload: p}); err != nil {
		r.t.Fatal(err)
	}
	r.tl.sent(p)
}

// next reads the next message, counting it, and answers the pings that
// come before it.
func (r *rawClient) next() rawclient.Frame {
	r.t.Helper()
	for {
		f, err := r.c.ReadFrame(wait)
		if err != nil {
			r.t.Fatal(err)
		}
		switch f.Opcode {
		case rawclient.OpPing:
			r.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpPong, Payload: f.Payload})
		case rawclient.OpText, rawclient.OpBinary:
			r.tl.received(f.Payload)
			return f
		default:
			r.t.Fatalf("a %v frame while reading messages", f.Opcode)
		}
	}
}

// readToEnd reads what the server sent, which must be no message, until
// the server drops the connection.
func (r *rawClient) readToEnd() {
	r.t.Helper()
	for {
		f, err := r.c.ReadFrame(wait)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil || f.Opcode != rawclient.OpPing {
			r.t.Fatalf("a %v frame, %v; want pings, then the end", f.Opcode, err)
		}
	}
}

// expectClose reads up to the server's close frame, which must carry code.
func (r *rawClient) expectClose(code uint16) {
	r.t.Helper()
	for {
		f, err := r.c.ReadFrame(wait)
		if err != nil {
			r.t.Fatalf("waiting for close %d: %v", code, err)
		}
		if f.Opcode == rawclient.OpClose {
			if len(f.Payload) < 2 || uint16(f.Payload[0])<<8|uint16(f.Payload[1]) != code {
				r.t.Fatalf("close %x, want %d", f.Payload, code)
			}
			return
		}
		if f.Opcode != rawclient.OpPing {
			r.t.Fatalf("a %v frame while waiting for close %d", f.Opcode, code)
		}
	}
}
