package gws

import (
	"fmt"
	"os"
	"time"
)

// errHeartbeatTimeout is why the heartbeat dropped a connection; like a
// deadline that passed, it wraps os.ErrDeadlineExceeded.
var errHeartbeatTimeout = fmt.Errorf("gws: no answer to heartbeat ping: %w", os.ErrDeadlineExceeded)

// heartbeat pings every connection of a group from one goroutine and
// one ticker, and drops those that stay silent after a ping. It runs only
// while the group has connections.
type heartbeat struct {
	done chan struct{}
}

// startHeartbeat starts the group's heartbeat. Its clock is the time
// since start in nanoseconds, read at each tick into group.clock;
// reading a frame copies that reading to Conn.lastSeen, which costs an
// atomic load and store per frame rather than a clock reading.
func startHeartbeat(g *group) *heartbeat {
	h := &heartbeat{done: make(chan struct{})}
	period := max(min(g.cfg.pingInterval, g.cfg.pingTimeout)/4, 10*time.Millisecond)
	go h.run(g, period)
	return h
}

func (h *heartbeat) stop() {
	close(h.done)
}

func (h *heartbeat) run(g *group, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	var conns []*Conn
	for {
		select {
		case <-h.done:
			return
		case now := <-t.C:
			clock := int64(now.Sub(start))
			g.clock.Store(clock)
			g.mu.Lock()
			conns = conns[:0]
			for c := range g.live {
				conns = append(conns, c)
			}
			g.mu.Unlock()
			for _, c := range conns {
				c.beat(clock, g.cfg)
			}
			clear(conns)
		}
	}
}

// beat pings c when a ping is due, or drops it when it has sent nothing
// since a ping PingTimeout ago.
func (c *Conn) beat(clock int64, cfg *config) {
	seen, pinged := c.lastSeen.Load(), c.lastPing.Load()
	switch {
	case c.bwait.Load() != nil:
		// Not reading while it waits for the memory budget, which
		// bounds that wait itself.
	case pinged > seen && clock-pinged >= int64(cfg.pingTimeout):
		c.fail(&CloseError{Code: CloseAbnormal, Reason: "heartbeat timeout", Err: errHeartbeatTimeout})
	case clock-pinged >= int64(cfg.pingInterval) && pinged <= seen:
		c.lastPing.Store(clock)
		buf, start := c.encode(OpcodePing, nil)
		c.enqueue(outFrame{b: (*buf)[start:], buf: buf})
	}
}
