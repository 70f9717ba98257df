package loadgen

import (
	"fmt"
	"time"
)

// broadcastLoop keeps InFlight broadcasts under way from the first
// connection and sends the next when every connection has received the
// oldest. It counts messages delivered, not broadcasts completed: the two
// rates differ by the factor Conns in the long run, and a window holds only
// a few dozen broadcasts to 10,000 connections, too few to count whole.
// Broadcast j is the j-th message a connection receives, since a server
// sends each connection its messages in order (and all are the same, so
// the order among them does not matter); a message reaches connection i
// only after every earlier one has, so broadcasts complete in order. The
// time from sending broadcast j to its arrival at the last connection is
// its fan-out latency, kept in p.latencies with its completion time.
func (p *epollPump) broadcastLoop() {
	k := p.c.cfg.InFlight
	fl := len(p.c.frame)
	n := len(p.conns)
	// arrivals[j%k] is how many connections have received broadcast j;
	// k slots suffice because no more than k are ever under way.
	arrivals := make([]int, k)
	sentAt := make([]time.Time, k)
	var done, sent int64
	p.send(0, k*fl)
	now := time.Now()
	for j := range sentAt {
		sentAt[j] = now
	}
	sent = int64(k)
	p.run(func(i int) error { return fmt.Errorf("server closed connection %d", i) },
		func(i int, cn *epollConn, msgs int) int64 {
			if cn.got+int64(msgs) > sent {
				p.kill(i, fmt.Errorf("connection %d received %d messages of %d broadcasts", i, cn.got+int64(msgs), sent))
				return 0
			}
			for range msgs {
				arrivals[cn.got%int64(k)]++
				cn.got++
			}
			for arrivals[done%int64(k)] == n {
				arrivals[done%int64(k)] = 0
				now := time.Now()
				p.latencies = append(p.latencies, latency{at: now, d: now.Sub(sentAt[done%int64(k)])})
				sentAt[done%int64(k)] = now
				done++
				if !p.conns[0].dead {
					p.send(0, p.conns[0].pending+fl)
					sent++
				}
			}
			return int64(msgs)
		})
}
