package gws

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

// waitStats polls u.Stats until ok accepts it: a write is counted just
// after it completes, so a client may read a frame before its count moves.
func waitStats(t *testing.T, u *Upgrader, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := u.Stats()
		if ok(s) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStatsCountTraffic(t *testing.T) {
	h := serverSide{newRecorder(), make(chan *Conn, 1)}
	u := &Upgrader{}
	addr := serve(t, u, h)
	c := connect(t, addr)
	conn := <-h.conns

	// Five messages in, each echoed by Write: 206 bytes each way.
	for _, m := range []string{"a", "bb", "ccc"} {
		c.send(0x80|frame.OpText, []byte(m))
		c.expect(frame.OpText, []byte(m))
	}
	big := make([]byte, 100)
	for range 2 {
		c.send(0x80|frame.OpBinary, big)
		c.expect(frame.OpBinary, big)
	}
	// A fragmented message is one message.
	c.send(frame.OpText, []byte("frag"))
	c.send(0x80|frame.OpContinuation, []byte("ment"))
	c.expect(frame.OpText, []byte("fragment"))
	// Through the write queue and a Broadcaster; control frames are not
	// messages.
	conn.WriteAsync(OpcodeText, []byte("0123456789"), nil)
	c.expect(frame.OpText, []byte("0123456789"))
	b := NewBroadcaster(OpcodeBinary, []byte("seven!!"))
	b.Broadcast(conn)
	b.Close()
	c.expect(frame.OpBinary, []byte("seven!!"))
	conn.WritePing([]byte("ping"))
	c.expect(frame.OpPing, []byte("ping"))
	c.send(0x80|frame.OpPing, []byte("hi"))
	c.expect(frame.OpPong, []byte("hi"))

	want := Stats{Conns: 1, Opened: 1, MessagesReceived: 6, BytesReceived: 214, MessagesSent: 8, BytesSent: 231}
	got := waitStats(t, u, func(s Stats) bool { return reflect.DeepEqual(counts(s), want) })
	if !reflect.DeepEqual(counts(got), want) {
		t.Fatalf("while open: %+v, want %+v", counts(got), want)
	}

	c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
	c.expectClose(CloseNormal)
	waitEnded(t, u)
	want.Conns = 0
	if got := counts(u.Stats()); !reflect.DeepEqual(got, want) {
		t.Fatalf("once ended: %+v, want %+v", got, want)
	}
}

// counts returns s without its maps.
func counts(s Stats) Stats {
	s.Refused, s.Closed, s.ClosedBy = nil, nil, nil
	return s
}

func TestStatsCountRefusals(t *testing.T) {
	u := &Upgrader{CheckOrigin: func(r *Request) bool { return r.URL.Path != "/forbidden" }}
	addr := serve(t, u, NopHandler{})
	for _, tc := range []struct {
		path  string
		extra []string
		want  int
	}{
		{"/forbidden", nil, 403},
		{"/", []string{"Sec-WebSocket-Version: 8"}, 426},
		{"/", []string{"Sec-WebSocket-Key: short"}, 400},
	} {
		_, resp := dial(t, addr, tc.path, tc.extra, nil)
		if resp.StatusCode != tc.want {
			t.Fatalf("%s %q: status %d, want %d", tc.path, tc.extra, resp.StatusCode, tc.want)
		}
	}
	post := httptest.NewRequest(http.MethodPost, "/", nil)
	if _, err := u.Upgrade(context.Background(), httptest.NewRecorder(), post, NopHandler{}); err == nil {
		t.Fatal("a POST was upgraded")
	}
	// A recorder cannot hand over a connection: 500.
	get := upgradeRequest(nil).Request
	if _, err := u.Upgrade(context.Background(), httptest.NewRecorder(), get, NopHandler{}); err == nil {
		t.Fatal("upgraded through a ResponseWriter that cannot hijack")
	}
	u.Shutdown(context.Background())
	if _, resp := dial(t, addr, "/", nil, nil); resp.StatusCode != 503 {
		t.Fatalf("after Shutdown: status %d, want 503", resp.StatusCode)
	}
	want := map[string]int64{"bad_request": 1, "origin": 1, "method": 1, "version": 1, "shutting_down": 1, "internal": 1}
	if got := u.Stats(); !maps.Equal(got.Refused, want) || got.Opened != 0 {
		t.Fatalf("Refused %v, Opened %d; want %v and 0", got.Refused, got.Opened, want)
	}
}

// TestStatsCountEnds ends one connection each way there is and checks
// the class of its close code and the cause Stats give it.
func TestStatsCountEnds(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opts         *ServerOptions
		end          func(t *testing.T, u *Upgrader, c *client, conn *Conn)
		class, cause string
	}{
		{"peer closes", nil, func(t *testing.T, _ *Upgrader, c *client, _ *Conn) {
			c.send(0x80|frame.OpClose, closePayload(CloseNormal, "bye"))
			c.expectClose(CloseNormal)
		}, "normal", "peer_close"},
		{"peer closes without a code", nil, func(t *testing.T, _ *Upgrader, c *client, _ *Conn) {
			c.send(0x80|frame.OpClose, nil)
			c.expect(frame.OpClose, nil)
			c.expectEOF()
		}, "normal", "peer_close"},
		{"peer closes with an application code", nil, func(t *testing.T, _ *Upgrader, c *client, _ *Conn) {
			c.send(0x80|frame.OpClose, closePayload(4000, ""))
			c.expectClose(4000)
		}, "other", "peer_close"},
		{"WriteClose", nil, func(t *testing.T, _ *Upgrader, c *client, conn *Conn) {
			conn.WriteClose(CloseNormal, nil)
			c.expect(frame.OpClose, closePayload(CloseNormal, ""))
			c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
			c.expectEOF()
		}, "normal", "local_close"},
		{"Close", nil, func(t *testing.T, _ *Upgrader, c *client, conn *Conn) {
			conn.Close()
			c.expectEOF()
		}, "abnormal", "local_close"},
		{"Shutdown", nil, func(t *testing.T, u *Upgrader, c *client, _ *Conn) {
			go u.Shutdown(context.Background())
			c.expect(frame.OpClose, closePayload(CloseGoingAway, "server shutting down"))
			c.send(0x80|frame.OpClose, closePayload(CloseGoingAway, ""))
			c.expectEOF()
		}, "going_away", "shutdown"},
		{"unmasked frame", nil, func(t *testing.T, _ *Upgrader, c *client, _ *Conn) {
			c.nc.Write([]byte{0x81, 0x01, 'x'})
			c.expectClose(CloseProtocolError)
		}, "protocol_error", "protocol_error"},
		{"invalid UTF-8", nil, func(t *testing.T, _ *Upgrader, c *client, _ *Conn) {
			c.send(0x80|frame.OpText, []byte{0xff})
			c.expectClose(CloseInvalidPayload)
		}, "protocol_error", "protocol_error"},
		{"too big", &ServerOptions{ReadMaxPayloadSize: 10}, func(t *testing.T, _ *Upgrader, c *client, _ *Conn) {
			c.send(0x80|frame.OpBinary, make([]byte, 11))
			c.expectClose(CloseMessageTooBig)
		}, "message_too_big", "protocol_error"},
		{"peer drops TCP", nil, func(t *testing.T, _ *Upgrader, c *client, _ *Conn) {
			c.nc.Close()
		}, "abnormal", "io_error"},
		{"heartbeat", &ServerOptions{PingInterval: 20 * time.Millisecond, PingTimeout: 60 * time.Millisecond}, func(t *testing.T, _ *Upgrader, c *client, _ *Conn) {
			c.expect(frame.OpPing, nil) // and never answer
			c.expectEOF()
		}, "abnormal", "heartbeat_timeout"},
		{"slow consumer", &ServerOptions{WriteQueueMessages: 4, SlowConsumer: SlowClose}, func(t *testing.T, _ *Upgrader, c *client, conn *Conn) {
			fillQueue(conn, 400)
		}, "policy_violation", "slow_consumer"},
		{"write timeout", &ServerOptions{WriteTimeout: 100 * time.Millisecond}, func(t *testing.T, _ *Upgrader, c *client, conn *Conn) {
			payload := make([]byte, 1<<20)
			for i := 0; i < 100 && conn.Write(OpcodeBinary, payload) == nil; i++ {
			}
		}, "abnormal", "write_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := serverSide{newRecorder(), make(chan *Conn, 1)}
			u := &Upgrader{ServerOptions: tc.opts}
			addr := serve(t, u, h)
			c := connect(t, addr)
			tc.end(t, u, c, <-h.conns)
			h.waitClosed(t)
			waitEnded(t, u)
			s := u.Stats()
			for k, n := range s.Closed {
				if n != map[bool]int64{true: 1}[k == tc.class] {
					t.Errorf("Closed %v, want %s: 1", s.Closed, tc.class)
					break
				}
			}
			for k, n := range s.ClosedBy {
				if n != map[bool]int64{true: 1}[k == tc.cause] {
					t.Errorf("ClosedBy %v, want %s: 1", s.ClosedBy, tc.cause)
					break
				}
			}
			if len(s.Closed) != 7 || len(s.ClosedBy) != 9 {
				t.Errorf("%d classes and %d causes, want all 7 and 9 always", len(s.Closed), len(s.ClosedBy))
			}
		})
	}
}

// timings is an ObserveHandler that keeps what it is told.
type timings struct {
	mu    sync.Mutex
	calls []time.Duration
}

func (o *timings) observe(_ *Conn, d time.Duration) {
	o.mu.Lock()
	o.calls = append(o.calls, d)
	o.mu.Unlock()
}

func TestObserveHandler(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprint("parallel=", parallel), func(t *testing.T) {
			var o timings
			u := &Upgrader{ServerOptions: &ServerOptions{ParallelEnabled: parallel}, ObserveHandler: o.observe}
			// The middleware's time is the handler's too.
			u.Use(func(s *Conn, m *Message) {
				time.Sleep(10 * time.Millisecond)
				m.Next(s)
			})
			addr := serve(t, u, echoHandler{})
			c := connect(t, addr)
			for _, m := range []string{"one", "two", "three"} {
				c.send(0x80|frame.OpText, []byte(m))
				c.expect(frame.OpText, []byte(m))
			}
			c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
			c.expectClose(CloseNormal)
			waitEnded(t, u)
			o.mu.Lock()
			defer o.mu.Unlock()
			if len(o.calls) != 3 {
				t.Fatalf("ObserveHandler called %d times for 3 messages", len(o.calls))
			}
			for _, d := range o.calls {
				if d < 10*time.Millisecond {
					t.Fatalf("handler times %v, want each at least the middleware's 10 ms", o.calls)
				}
			}
		})
	}
}

// TestStatsWhileBusy reads Stats while messages flow and connections come
// and go, for the race detector, and checks the totals at the end.
func TestStatsWhileBusy(t *testing.T) {
	u := &Upgrader{}
	addr := serve(t, u, echoHandler{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s := u.Stats(); s.MessagesSent > s.MessagesReceived {
				t.Errorf("more echoes (%d) than messages (%d)", s.MessagesSent, s.MessagesReceived)
				return
			}
		}
	})
	const conns, msgs = 8, 200
	for range conns {
		c := connect(t, addr)
		for range msgs {
			c.send(0x80|frame.OpBinary, []byte("ping-pong"))
			c.expect(frame.OpBinary, []byte("ping-pong"))
		}
		c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
		c.expectClose(CloseNormal)
	}
	close(stop)
	wg.Wait()
	waitEnded(t, u)
	s := u.Stats()
	if s.MessagesReceived != conns*msgs || s.MessagesSent != conns*msgs || s.BytesSent != conns*msgs*9 || s.Opened != conns || s.Closed["normal"] != conns {
		t.Fatalf("%+v", s)
	}
}

// BenchmarkStats measures a snapshot with 1,000 open connections, whose
// traffic Stats adds up: ns/op divided by 1,000 is the cost per
// connection a scrape pays.
func BenchmarkStats(b *testing.B) {
	u := &Upgrader{}
	addr := serve(b, u, NopHandler{})
	for range 1000 {
		connect(b, addr)
	}
	for u.Stats().Conns < 1000 {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		u.Stats()
	}
}

// BenchmarkMessageCounters measures what Stats cost one echoed message:
// the read loop counting it in and the writer counting it out, and with
// an ObserveHandler the two clock readings and a histogram's update too.
// Compare with BenchmarkEcho's ns/op for the share of a round trip.
func BenchmarkMessageCounters(b *testing.B) {
	c := &Conn{g: &group{}}
	b.Run("counters", func(b *testing.B) {
		for b.Loop() {
			c.countIn(16)
			c.countOut(OpcodeBinary, 16)
		}
	})
	b.Run("observed", func(b *testing.B) {
		var h histogram
		for b.Loop() {
			c.countIn(16)
			start := time.Now()
			c.countOut(OpcodeBinary, 16)
			h.observe(c, time.Since(start))
		}
	})
}
