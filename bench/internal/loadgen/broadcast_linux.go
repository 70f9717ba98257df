package loadgen

import (
	"fmt"
	"syscall"
)

// broadcastLoop keeps InFlight broadcasts under way from the first
// connection and sends the next when every connection has received the
// oldest. It counts messages delivered, not broadcasts completed: the two
// rates differ by the factor Conns in the long run, and a window holds only
// a few dozen broadcasts to 10,000 connections, too few to count whole.
// Broadcast j is the j-th message a connection receives, since a server
// sends each connection its messages in order (and all are the same, so
// the order among them does not matter); a message reaches connection i
// only after every earlier one has, so broadcasts complete in order.
func (p *epollPump) broadcastLoop() {
	k := p.c.cfg.InFlight
	fl := len(p.c.frame)
	n := len(p.conns)
	// arrivals[j%k] is how many connections have received broadcast j;
	// k slots suffice because no more than k are ever under way.
	arrivals := make([]int, k)
	var done, sent, delivered int64
	p.send(0, k*fl)
	sent = int64(k)
	buf := make([]byte, 256<<10)
	events := make([]syscall.EpollEvent, 512)
	for !p.stop.Load() && p.active > 0 {
		m, err := syscall.EpollWait(p.epfd, events, 50)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			p.fails.add(err)
			return
		}
		for _, ev := range events[:m] {
			i := int(ev.Fd)
			cn := &p.conns[i]
			if cn.dead {
				continue
			}
			if ev.Events&syscall.EPOLLOUT != 0 && cn.pending > 0 {
				p.send(i, cn.pending)
				if cn.dead {
					continue
				}
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
				continue
			}
			r, err := syscall.Read(cn.fd, buf)
			if err == syscall.EAGAIN {
				continue
			}
			if err != nil || r == 0 {
				if err == nil {
					err = fmt.Errorf("server closed connection %d", i)
				}
				p.kill(i, err)
				continue
			}
			var msgs int
			if p.c.cfg.WebSocket {
				if msgs, err = cn.rc.feed(buf[:r]); err != nil {
					p.kill(i, err)
					continue
				}
			} else {
				cn.carry += r
				msgs = cn.carry / fl
				cn.carry -= msgs * fl
			}
			if cn.got+int64(msgs) > sent {
				p.kill(i, fmt.Errorf("connection %d received %d messages of %d broadcasts", i, cn.got+int64(msgs), sent))
				continue
			}
			for range msgs {
				arrivals[cn.got%int64(k)]++
				cn.got++
			}
			delivered += int64(msgs)
			for arrivals[done%int64(k)] == n {
				arrivals[done%int64(k)] = 0
				done++
				if !p.conns[0].dead {
					p.send(0, p.conns[0].pending+fl)
					sent++
				}
			}
		}
		p.count.Store(delivered)
	}
}
