package loadgen

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/gwsgo/gws/bench/internal/wire"
)

func runBroadcast(cfg Config) (Result, error) {
	c := newClient(cfg)
	r, conns, err := c.connect(c.awaitWelcome)
	if err != nil {
		return r, err
	}
	if err := c.checkBroadcast(conns); err != nil {
		for _, conn := range conns {
			closeConn(conn)
		}
		return r, err
	}
	p, err := newEpollPump(c, conns)
	if err != nil {
		return r, err
	}
	p.start(p.broadcastLoop)
	from := time.Now().Add(cfg.Warmup)
	err = measure(cfg, &p.count, &r)
	to := time.Now()
	p.halt()
	p.fails.fill(&r)
	r.LatencyP50, r.LatencyP99 = percentiles(p.latencies, from, to)
	return r, err
}

// latency is one broadcast's fan-out time, from sending it to its arrival
// at the last connection, and when it completed.
type latency struct {
	at time.Time
	d  time.Duration
}

// percentiles returns the median and 99th percentile, in seconds, of the
// latencies that completed between from and to.
func percentiles(ls []latency, from, to time.Time) (p50, p99 float64) {
	var ds []time.Duration
	for _, l := range ls {
		if !l.at.Before(from) && !l.at.After(to) {
			ds = append(ds, l.d)
		}
	}
	if len(ds) == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2].Seconds(), ds[min(len(ds)-1, len(ds)*99/100)].Seconds()
}

// awaitWelcome reads the server's welcome message: from then on the
// connection is in the server's set and receives every broadcast.
func (c *client) awaitWelcome(conn net.Conn, rest []byte) error {
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	defer conn.SetDeadline(time.Time{})
	got, err := readMessage(conn, rest, opBinary)
	if err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	if got[0]&rsv1 != 0 || string(framePayloads(got)) != wire.Welcome {
		return fmt.Errorf("welcome: got %q, want %q", got, wire.WelcomeFrame)
	}
	return nil
}

// checkBroadcast has the first connection send one message and checks that
// every connection, the sender included, receives exactly it, byte for
// byte, before anything is timed.
func (c *client) checkBroadcast(conns []net.Conn) error {
	if _, err := conns[0].Write(c.frame); err != nil {
		return fmt.Errorf("first broadcast: %w", err)
	}
	for i, conn := range conns {
		_ = conn.SetDeadline(time.Now().Add(ioTimeout))
		var err error
		if c.cfg.WebSocket {
			var got []byte
			if got, err = readMessage(conn, nil, c.op); err == nil {
				err = c.checkReply(got, "first broadcast")
			}
		} else {
			var got []byte
			if got, err = readRaw(conn, nil, len(c.frame)); err == nil && !bytes.Equal(got, c.frame) {
				err = fmt.Errorf("first broadcast: received bytes differ from those sent")
			}
		}
		_ = conn.SetDeadline(time.Time{})
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
	}
	return nil
}
