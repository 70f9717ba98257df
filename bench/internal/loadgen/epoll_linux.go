package loadgen

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// epollConn is one connection as the event loop sees it.
type epollConn struct {
	fd      int
	rc      replyCounter
	carry   int   // TCP: bytes of an echo only partly back
	pending int   // bytes of frames not yet written because the socket was full
	got     int64 // broadcast: messages received
	dead    bool
	// echo: when the messages in flight were sent, oldest first, in
	// nanoseconds since the pump started; a ring of InFlight entries.
	sent  []int64
	first int
}

// epollPump drives every connection from one OS thread with level-triggered
// epoll and raw system calls: per message one read and one write, with one
// epoll_wait shared by all the connections that are ready, and no goroutine
// switch, no netpoller and no read that only finds EAGAIN. This makes the
// client cheaper per message than even the TCP echo server, which is what
// lets a run measure the server.
type epollPump struct {
	c      *client
	epfd   int
	conns  []epollConn
	count  atomic.Int64
	stop   atomic.Bool
	done   chan struct{}
	fails  failures
	active int
	// latencies are the broadcasts' fan-out times or the echoes' round
	// trips, written by the pump's goroutine and read once it has halted.
	latencies []latency
	t0        time.Time // the origin of epollConn.sent
}

// newEpollPump takes over conns: their descriptors are duplicated out of
// Go's netpoller and the net.Conns closed, so no one else reads them.
func newEpollPump(c *client, conns []net.Conn) (*epollPump, error) {
	p := &epollPump{c: c, done: make(chan struct{})}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p.epfd = epfd
	for i, conn := range conns {
		fd, err := dupFD(conn)
		conn.Close()
		if err != nil {
			p.closeAll()
			return nil, err
		}
		// The descriptors share the socket's file status flags, so the
		// duplicate is non-blocking like the original; set it anyway in
		// case a Go release changes that.
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(fd)
			p.closeAll()
			return nil, err
		}
		p.conns = append(p.conns, epollConn{fd: fd, rc: replyCounter{wantOp: c.op}})
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			p.closeAll()
			return nil, err
		}
	}
	p.active = len(p.conns)
	return p, nil
}

func dupFD(conn net.Conn) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, errors.New("connection has no file descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	if err := raw.Control(func(fd uintptr) {
		nfd, derr = syscall.Dup(int(fd))
		if derr == nil {
			syscall.CloseOnExec(nfd)
		}
	}); err != nil {
		return -1, err
	}
	return nfd, derr
}

// closeAll resets every connection (see closeConn) and the epoll instance.
func (p *epollPump) closeAll() {
	for i := range p.conns {
		if p.conns[i].fd >= 0 {
			_ = syscall.SetsockoptLinger(p.conns[i].fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1})
			syscall.Close(p.conns[i].fd)
			p.conns[i].fd = -1
		}
	}
	if p.epfd >= 0 {
		syscall.Close(p.epfd)
		p.epfd = -1
	}
}

// start runs loop (p.loop or p.broadcastLoop) on a thread of its own until
// stop.
func (p *epollPump) start(loop func()) {
	go func() {
		defer close(p.done)
		// One thread does it all, and keeps its caches warm doing it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		loop()
	}()
}

// loop is the echo: it fills every connection's pipe, then sends a message
// for every reply, and notes each reply's round trip (one clock reading
// per batch of replies: the pump must stay cheap).
func (p *epollPump) loop() {
	k := p.c.cfg.InFlight
	p.t0 = time.Now()
	for i := range p.conns {
		cn := &p.conns[i]
		cn.sent = make([]int64, k)
		t := int64(time.Since(p.t0))
		for j := range cn.sent {
			cn.sent[j] = t
		}
		p.send(i, len(p.c.frames))
	}
	fl := len(p.c.frame)
	p.run(func(int) error { return errors.New("server closed the connection") },
		func(i int, cn *epollConn, m int) int64 {
			if m > k {
				p.kill(i, fmt.Errorf("%d replies with only %d messages in flight", m, k))
				return 0
			}
			if m > 0 {
				now := time.Now()
				t := int64(now.Sub(p.t0))
				for range m {
					p.latencies = append(p.latencies, latency{at: now, d: time.Duration(t - cn.sent[cn.first])})
					cn.sent[cn.first] = t // the message sent for this reply
					cn.first = (cn.first + 1) % k
				}
				p.send(i, cn.pending+m*fl)
			}
			return int64(m)
		})
}

// run is the event loop that the echo and the broadcast share: it flushes
// what a full socket held back, reads, and hands received the number of
// whole messages connection i has just got, which returns how many of them
// count. closed makes the error for a connection the server closed, which
// each workload words its own way.
func (p *epollPump) run(closed func(i int) error, received func(i int, cn *epollConn, m int) int64) {
	fl := len(p.c.frame)
	// One read buffer for all: replies are counted, never kept.
	buf := make([]byte, 256<<10)
	events := make([]syscall.EpollEvent, 512)
	var count int64
	for !p.stop.Load() && p.active > 0 {
		// The timeout only bounds how late a stop is seen.
		n, err := syscall.EpollWait(p.epfd, events, 50)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			p.fails.add(err)
			return
		}
		for _, ev := range events[:n] {
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
					err = closed(i)
				}
				p.kill(i, err)
				continue
			}
			var m int
			if p.c.cfg.WebSocket {
				if m, err = cn.rc.feed(buf[:r]); err != nil {
					p.kill(i, err)
					continue
				}
			} else {
				cn.carry += r
				m = cn.carry / fl
				cn.carry -= m * fl
			}
			count += received(i, cn, m)
		}
		p.count.Store(count)
	}
}

// send writes the last n bytes of the in-flight frames (frames are all the
// same, so the tail is as good as any n bytes that end on a frame boundary);
// what the socket does not take now waits for EPOLLOUT.
func (p *epollPump) send(i, n int) {
	cn := &p.conns[i]
	frames := p.c.frames
	for n > 0 {
		w, err := syscall.Write(cn.fd, frames[len(frames)-n:])
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			p.kill(i, err)
			return
		}
		n -= w
	}
	want := uint32(syscall.EPOLLIN)
	if n > 0 {
		want |= syscall.EPOLLOUT
	}
	if (cn.pending > 0) != (n > 0) {
		ev := syscall.EpollEvent{Events: want, Fd: int32(i)}
		if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, cn.fd, &ev); err != nil {
			p.kill(i, err)
			return
		}
	}
	cn.pending = n
}

func (p *epollPump) kill(i int, err error) {
	cn := &p.conns[i]
	if cn.dead {
		return
	}
	cn.dead = true
	p.active--
	if !p.stop.Load() {
		p.fails.add(err)
	}
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, cn.fd, nil)
}

// halt stops the loop, waits for it, and resets every connection.
func (p *epollPump) halt() {
	p.stop.Store(true)
	<-p.done
	p.closeAll()
}
