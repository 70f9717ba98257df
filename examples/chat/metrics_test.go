package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/core/rooms"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// traffic is what the test counts from the clients' side: what they sent
// is what the server received, and the other way round.
type traffic struct {
	in, inBytes, out, outBytes atomic.Int64
}

func (t *traffic) sent(p []byte)     { t.in.Add(1); t.inBytes.Add(int64(len(p))) }
func (t *traffic) received(p []byte) { t.out.Add(1); t.outBytes.Add(int64(len(p))) }

// startChatWithMetrics runs the chat as main does with -metrics, on
// loopback ports, with a heartbeat short enough for a test to see a
// silent user dropped; it returns the chat's address, the metrics URL
// and a stop that shuts the chat down and returns run's error.
func startChatWithMetrics(t *testing.T) (addr, metricsURL string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mln.Close() })
	instrument := func(u *gws.Upgrader) {
		u.ServerOptions.PingInterval = 100 * time.Millisecond
		u.ServerOptions.PingTimeout = time.Second
		serveMetrics(mln, u)
	}
	hub, err := rooms.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, ln, &Chat{hub: hub}, instrument)
		hub.Close()
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("run did not return within 10 s of the context's cancellation")
		}
	}
	t.Cleanup(func() { stop() })
	return ln.Addr().String(), "http://" + mln.Addr().String() + "/metrics", stop
}

// TestMetrics drives the chat with -metrics through what an operator
// watches: users joining, handshakes refused, direct and broadcast
// messages, a user replaced by a newer connection, a slow reader, a
// silent one dropped by the heartbeat, one that breaks the protocol, one
// that drops TCP, and the shutdown; then it reads /metrics with
// Prometheus's own text parser, and every gws value must be what the test
// counted. It takes a little over a second: the silent user is dropped
// 1 s after a ping.
func TestMetrics(t *testing.T) {
	addr, metricsURL, stop := startChatWithMetrics(t)
	var tr traffic

	// Refused by gws: another site's page, an old protocol version, a
	// request that is no handshake. Refused by the chat itself, before gws
	// sees them, and so not counted: no name, and POST.
	for _, h := range []http.Header{{"Origin": {"http://evil.example"}}, {"Sec-WebSocket-Version": {"8"}}} {
		if c, _, err := rawclient.Dial(addr, "/ws?name=mallory", h); err == nil {
			c.Close()
			t.Fatalf("%v: upgraded", h)
		}
	}
	for _, req := range []struct{ method, path string }{{"GET", "/ws?name=x"}, {"GET", "/ws"}, {"POST", "/ws?name=x"}} {
		r, _ := http.NewRequest(req.method, "http://"+addr+req.path, nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Fatalf("%s %s: %s", req.method, req.path, resp.Status)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	// Everyone hears every join, their own included.
	alice := joinCounted(t, addr, "alice", &tr)
	alice.expect("alice joined")
	bob := joinCounted(t, addr, "bob", &tr)
	alice.expect("bob joined")
	bob.expect("bob joined")
	carol := joinCounted(t, addr, "carol", &tr)
	for _, m := range []*member{alice, bob, carol} {
		m.expect("carol joined")
	}

	// Direct, broadcast, and the server's own answers.
	alice.say("bob", "hi bob")
	bob.expect("hi bob")
	alice.expect("hi bob")
	bob.say("", "hello, everyone")
	for _, m := range []*member{alice, bob, carol} {
		m.expect("hello, everyone")
	}
	carol.say("nobody", "anyone?")
	carol.expect("no such user: nobody")
	carol.sayRaw([]byte("not json"))
	carol.expect(usage)

	// A slow reader: alice sends to slow, who reads nothing, until
	// WriteAsync has dropped some (the metrics say so, which only tells
	// the test when to stop); then slow reads, and messages it sends
	// itself mark the end of what the server still had for it. alice's
	// copies of what she sent may be dropped too, if she reads slower
	// than she writes: she marks the end of hers the same way.
	slow := joinRaw(t, addr, "slow", &tr)
	for _, m := range []*member{alice, bob, carol} {
		m.expect("slow joined")
	}
	slow.pause()
	big := strings.Repeat("x", 64<<10)
	toSlow := int64(0)
	for !(toSlow%50 == 0 && scrape(t, metricsURL)["messages_dropped_total"] > 0) {
		if toSlow == 5000 {
			t.Fatal("5000 messages of 64 KiB to a user who reads nothing, and nothing dropped")
		}
		alice.say("slow", big)
		toSlow++
	}
	// alice's marker first: once it is back, the server has handled all
	// she sent, and slow's marker is queued behind all of it.
	toAlice := toSlow
	slow.resume()
	for k := 0; ; k++ {
		marker := fmt.Sprint("marker ", k)
		alice.say("alice", marker)
		toAlice++
		if alice.waitFor(marker, 300*time.Millisecond) {
			break
		}
	}
	for k := 0; ; k++ {
		marker := fmt.Sprint("marker ", k)
		slow.say("slow", marker)
		toSlow++
		if slow.waitFor(marker, 300*time.Millisecond) {
			break
		}
	}
	dropped := toSlow - slow.direct.Load() + toAlice - alice.direct.Load()

	// A silent user, dropped by the heartbeat; the others hear it leave.
	silent := joinRaw(t, addr, "silent", &tr)
	for _, m := range []*member{alice, bob, carol} {
		m.expect("silent joined")
	}
	silent.waitGone()
	for _, m := range []*member{alice, bob, carol} {
		m.expect("silent left")
	}

	// bob again: the newer connection replaces the older, which is
	// closed with 1008 and leaves without a notice.
	bob2 := joinCounted(t, addr, "bob", &tr)
	for _, m := range []*member{alice, bob2, carol} {
		m.expect("bob joined")
	}
	bob.waitClosed()

	// carol leaves; dave drops TCP; eve sends text that is not UTF-8.
	carol.conn.WriteClose(gws.CloseNormal, nil)
	carol.waitClosed()
	for _, m := range []*member{alice, bob2} {
		m.expect("carol left")
	}
	for _, name := range []string{"dave", "eve"} {
		r := joinRaw(t, addr, name, &tr)
		for _, m := range []*member{alice, bob2} {
			m.expect(name + " joined")
		}
		if !r.waitFor(name+" joined", wait) {
			t.Fatalf("%s did not hear its own join", name)
		}
		if name == "dave" {
			r.c.Close()
		} else {
			r.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: []byte{0xff}})
		}
		r.waitGone()
		for _, m := range []*member{alice, bob2} {
			m.expect(name + " left")
		}
	}

	// The shutdown closes alice, bob2 and slow with 1001.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	alice.waitClosed()
	bob2.waitClosed()
	slow.waitGone()

	want := map[string]float64{
		"connections_open":               0,
		"connections_total":              8,
		"messages_received_total":        float64(tr.in.Load()),
		"bytes_received_total":           float64(tr.inBytes.Load()),
		"messages_sent_total":            float64(tr.out.Load()),
		"bytes_sent_total":               float64(tr.outBytes.Load()),
		"messages_dropped_total":         float64(dropped),
		"slow_consumers_closed_total":    0,
		"handler_duration_seconds_count": float64(tr.in.Load()),
	}
	for _, reason := range []string{"bad_request", "origin", "method", "version", "shutting_down", "internal"} {
		want["handshakes_refused_total{reason="+reason+"}"] = map[bool]float64{true: 1}[reason == "bad_request" || reason == "origin" || reason == "version"]
	}
	for class, n := range map[string]float64{"normal": 1, "going_away": 3, "protocol_error": 1, "policy_violation": 1, "message_too_big": 0, "abnormal": 2, "other": 0} {
		want["connections_closed_total{code_class="+class+"}"] = n
	}
	for cause, n := range map[string]float64{"peer_close": 1, "local_close": 1, "shutdown": 3, "protocol_error": 1, "io_error": 1, "heartbeat_timeout": 1, "write_timeout": 0, "slow_consumer": 0, "memory_budget": 0} {
		want["connections_closed_by_cause_total{cause="+cause+"}"] = n
	}
	got := scrape(t, metricsURL)
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d gws series, want %d: %v", len(got), len(want), got)
	}
	t.Logf("%d messages in, %d out, %d of %d to the slow reader dropped", tr.in.Load(), tr.out.Load(), dropped, toSlow)
}

// scrape reads the metrics with Prometheus's own text parser and returns
// the gws series by name without gws_, labels in braces, a histogram by
// its count.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	client := &http.Client{Timeout: wait}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range families {
		name, ok := strings.CutPrefix(name, "gws_")
		if !ok {
			continue // the Go runtime's
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = float64(m.Histogram.GetSampleCount())
			}
			name, _ = strings.CutPrefix(f.GetName(), "gws_")
		}
	}
	return out
}

// member is a chat user on gws's own client, which answers pings and
// close frames as a browser does, counting what it sends and receives.
type member struct {
	t    *testing.T
	name string
	tr   *traffic
	conn *gws.Conn
	got  chan envelope // messages over 1 KiB are only counted, in direct

	direct atomic.Int64 // messages over 1 KiB and markers, which waitFor reads
}

func joinCounted(t *testing.T, addr, name string, tr *traffic) *member {
	t.Helper()
	m := &member{t: t, name: name, tr: tr, got: make(chan envelope, 8192)}
	conn, _, err := gws.Dial(context.Background(), "ws://"+addr+"/ws?name="+url.QueryEscape(name), m, nil)
	if err != nil {
		t.Fatalf("%s joining: %v", name, err)
	}
	m.conn = conn
	t.Cleanup(func() { conn.Close(); <-conn.Context.Done() })
	return m
}

func (m *member) OnOpen(*gws.Conn)                    {}
func (m *member) OnClose(*gws.Conn, gws.Code, []byte) {}
func (m *member) OnError(*gws.Conn, error)            {}
func (m *member) OnPing(*gws.Conn, []byte)            {}
func (m *member) OnPong(*gws.Conn, []byte)            {}
func (m *member) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	m.tr.received(msg.Bytes())
	var e envelope
	json.Unmarshal(msg.Bytes(), &e)
	if len(e.Message) > 1<<10 {
		m.direct.Add(1)
		return
	}
	m.got <- e
}

func (m *member) sayRaw(p []byte) {
	m.t.Helper()
	if err := m.conn.Write(gws.OpcodeText, p); err != nil {
		m.t.Fatalf("%s: %v", m.name, err)
	}
	m.tr.sent(p)
}

func (m *member) say(to, text string) {
	m.t.Helper()
	b, _ := json.Marshal(envelope{To: to, Message: text})
	m.sayRaw(b)
}

// expect reads the next message, which must carry text.
func (m *member) expect(text string) {
	m.t.Helper()
	select {
	case e := <-m.got:
		if e.Message != text {
			m.t.Fatalf("%s got %+v, want %q", m.name, e, text)
		}
	case <-time.After(wait):
		m.t.Fatalf("%s waited for %q in vain", m.name, text)
	}
}

// waitFor reads messages until one carries text, counting them in
// direct, and reports whether it came within timeout.
func (m *member) waitFor(text string, timeout time.Duration) bool {
	m.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-m.got:
			m.direct.Add(1)
			if e.Message == text {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func (m *member) waitClosed() {
	m.t.Helper()
	select {
	case <-m.conn.Context.Done():
	case <-time.After(wait):
		m.t.Fatalf("%s: the connection did not end", m.name)
	}
}

// rawMember is a chat user on a raw connection, for users that misbehave.
// A goroutine reads for it, counting messages and answering pings and
// the close frame, unless paused; a silent user answers nothing.
type rawMember struct {
	t      *testing.T
	name   string
	tr     *traffic
	c      *rawclient.Conn
	silent bool
	paused atomic.Bool
	// keepalive, closed by resume, stops the pongs of a pause.
	keepalive chan struct{}
	alive     sync.WaitGroup
	texts     chan string   // the messages it read, as texts
	direct    atomic.Int64  // of which direct messages to it
	gone      chan struct{} // closed when the server has ended the connection
}

// joinRaw connects a raw user; the one named silent never answers.
func joinRaw(t *testing.T, addr, name string, tr *traffic) *rawMember {
	t.Helper()
	c, _, err := rawclient.Dial(addr, "/ws?name="+url.QueryEscape(name), nil)
	if err != nil {
		t.Fatalf("%s joining: %v", name, err)
	}
	r := &rawMember{t: t, name: name, tr: tr, c: c, silent: name == "silent", texts: make(chan string, 8192), gone: make(chan struct{})}
	t.Cleanup(func() { r.resume(); c.Close(); <-r.gone })
	go r.read()
	return r
}

func (r *rawMember) read() {
	defer close(r.gone)
	for {
		for r.paused.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		f, err := r.c.ReadFrame(30 * time.Second)
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			return
		case err != nil:
			r.t.Errorf("%s reading: %v", r.name, err)
			return
		}
		switch f.Opcode {
		case rawclient.OpPing:
			if r.silent {
				continue
			}
			r.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpPong, Payload: f.Payload})
		case rawclient.OpClose:
			r.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: f.Payload[:min(2, len(f.Payload))]})
		case rawclient.OpText:
			r.tr.received(f.Payload)
			var e envelope
			json.Unmarshal(f.Payload, &e)
			if e.To == r.name {
				r.direct.Add(1)
			}
			r.texts <- e.Message
		}
	}
}

// pause stops the reader after the frame it may be waiting for, and
// sends a pong every 50 ms meanwhile, so that the heartbeat sees the user
// alive; resume restarts the reader.
func (r *rawMember) pause() {
	r.paused.Store(true)
	r.keepalive = make(chan struct{})
	r.alive.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-r.keepalive:
				return
			case <-t.C:
				r.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpPong})
			}
		}
	})
}

func (r *rawMember) resume() {
	if r.keepalive != nil {
		close(r.keepalive)
		r.alive.Wait()
		r.keepalive = nil
	}
	r.paused.Store(false)
}

func (r *rawMember) say(to, text string) {
	r.t.Helper()
	b, _ := json.Marshal(envelope{To: to, Message: text})
	if err := r.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: b}); err != nil {
		r.t.Fatalf("%s: %v", r.name, err)
	}
	r.tr.sent(b)
}

// waitFor reads messages until one carries text, and reports whether it
// came within timeout.
func (r *rawMember) waitFor(text string, timeout time.Duration) bool {
	r.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case got := <-r.texts:
			if got == text {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// waitGone waits for the server to end the connection, resuming a
// paused reader so that it reads what the server wrote before.
func (r *rawMember) waitGone() {
	r.t.Helper()
	r.resume()
	select {
	case <-r.gone:
	case <-time.After(wait):
		r.t.Fatalf("%s: the connection did not end", r.name)
	}
}
