package gws

import "time"

// heartbeat pings every connection of an Upgrader from one goroutine and
// one ticker, and drops those that stay silent after a ping. It runs only
// while the Upgrader has connections.
type heartbeat struct {
	done chan struct{}
}

// startHeartbeat starts the Upgrader's heartbeat. Its clock is the time
// since start in nanoseconds, read at each tick into Upgrader.clock;
// reading a frame copies that reading to Conn.lastSeen, which costs an
// atomic load and store per frame rather than a clock reading.
func startHeartbeat(u *Upgrader) *heartbeat {
	h := &heartbeat{done: make(chan struct{})}
	o := u.opts
	period := max(min(o.PingInterval, o.PingTimeout)/4, 10*time.Millisecond)
	go h.run(u, period)
	return h
}

func (h *heartbeat) stop() {
	close(h.done)
}

func (h *heartbeat) run(u *Upgrader, period time.Duration) {
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
			u.clock.Store(clock)
			u.mu.Lock()
			conns = conns[:0]
			for c := range u.conns {
				conns = append(conns, c)
			}
			u.mu.Unlock()
			for _, c := range conns {
				c.beat(clock, u.opts)
			}
			clear(conns)
		}
	}
}

// beat pings c when a ping is due, or drops it when it has sent nothing
// since a ping PingTimeout ago.
func (c *Conn) beat(clock int64, o *ServerOptions) {
	seen, pinged := c.lastSeen.Load(), c.lastPing.Load()
	switch {
	case pinged > seen && clock-pinged >= int64(o.PingTimeout):
		c.fail(&CloseError{Code: CloseAbnormal, Reason: "heartbeat timeout", Err: ErrHeartbeatTimeout})
	case clock-pinged >= int64(o.PingInterval) && pinged <= seen:
		c.lastPing.Store(clock)
		buf, start := c.encode(OpcodePing, nil)
		c.enqueue(outFrame{b: (*buf)[start:], buf: buf})
	}
}
