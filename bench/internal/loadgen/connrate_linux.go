package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// Where a connection is in its life.
const (
	stConnecting = iota // waiting for connect to finish
	stHandshake         // request sent, reading the response
	stClosing           // close frame sent, reading the reply
)

type churnSlot struct {
	fd    int
	state int
	buf   [1024]byte
	n     int
}

// churn opens, upgrades and closes connections from one OS thread with
// non-blocking raw sockets and epoll, keeping Conns of them under way at
// once. net.Dial costs the client about as much as a handshake costs the
// server; this does not, so the server's rate is what a run sees.
type churn struct {
	c     *client
	epfd  int
	sa    syscall.SockaddrInet4
	slots []churnSlot
	count atomic.Int64
	stop  atomic.Bool
	done  chan struct{}
	fails failures
}

func newChurn(c *client) (*churn, error) {
	a, err := net.ResolveTCPAddr("tcp4", c.cfg.Addr)
	if err != nil {
		return nil, err
	}
	ip4 := a.IP.To4()
	if ip4 == nil {
		return nil, fmt.Errorf("%s is not an IPv4 address", c.cfg.Addr)
	}
	ch := &churn{c: c, done: make(chan struct{}), slots: make([]churnSlot, c.cfg.Conns)}
	ch.sa.Port = a.Port
	copy(ch.sa.Addr[:], ip4)
	if ch.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		return nil, err
	}
	for i := range ch.slots {
		ch.slots[i].fd = -1
	}
	return ch, nil
}

func (ch *churn) start() {
	go func() {
		defer close(ch.done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := range ch.slots {
			ch.open(i)
		}
		ch.loop()
		for i := range ch.slots {
			ch.reset(i)
		}
		syscall.Close(ch.epfd)
	}()
}

func (ch *churn) halt() {
	ch.stop.Store(true)
	<-ch.done
}

func (ch *churn) loop() {
	events := make([]syscall.EpollEvent, 256)
	var count int64
	for !ch.stop.Load() {
		n, err := syscall.EpollWait(ch.epfd, events, 50)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			ch.fails.add(err)
			return
		}
		failed := false
		for _, ev := range events[:n] {
			i := int(ev.Fd)
			done, err := ch.step(i, ev.Events)
			if err != nil {
				ch.fails.add(err)
				failed = true
			}
			if done {
				count++
			}
			if done || err != nil {
				ch.reset(i)
				ch.open(i)
			}
		}
		ch.count.Store(count)
		if failed {
			// A refusing server must not turn the loop into a spin.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// open starts a new connection in slot i.
func (ch *churn) open(i int) {
	s := &ch.slots[i]
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		ch.fails.add(err)
		return
	}
	// As net.Dial does, so that small writes are not held back.
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	s.fd, s.n = fd, 0
	err = syscall.Connect(fd, &ch.sa)
	switch err {
	case nil:
		s.state = stConnecting
		err = ch.register(i, syscall.EPOLLIN)
		if err == nil {
			_, err = ch.step(i, syscall.EPOLLOUT)
		}
	case syscall.EINPROGRESS:
		s.state = stConnecting
		err = ch.register(i, syscall.EPOLLOUT)
	}
	if err != nil {
		ch.fails.add(err)
		ch.reset(i)
	}
}

func (ch *churn) register(i int, events uint32) error {
	ev := syscall.EpollEvent{Events: events, Fd: int32(i)}
	return syscall.EpollCtl(ch.epfd, syscall.EPOLL_CTL_ADD, ch.slots[i].fd, &ev)
}

// reset closes slot i's socket with a reset, as closeConn does.
func (ch *churn) reset(i int) {
	s := &ch.slots[i]
	if s.fd < 0 {
		return
	}
	_ = syscall.SetsockoptLinger(s.fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1})
	syscall.Close(s.fd) // also takes it out of the epoll set
	s.fd = -1
}

// step advances slot i on an event; done reports a completed cycle.
func (ch *churn) step(i int, events uint32) (done bool, err error) {
	s := &ch.slots[i]
	if s.fd < 0 {
		return false, nil
	}
	c := ch.c
	switch s.state {
	case stConnecting:
		if events&(syscall.EPOLLOUT|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
			return false, nil
		}
		if soerr, err := syscall.GetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_ERROR); err != nil || soerr != 0 {
			if err == nil {
				err = syscall.Errno(soerr)
			}
			return false, fmt.Errorf("connect: %w", err)
		}
		// A request this small always fits an empty socket buffer.
		if w, err := syscall.Write(s.fd, c.request); err != nil || w != len(c.request) {
			return false, fmt.Errorf("writing upgrade request: %v", err)
		}
		s.state = stHandshake
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		return false, syscall.EpollCtl(ch.epfd, syscall.EPOLL_CTL_MOD, s.fd, &ev)
	case stHandshake, stClosing:
		if s.n == len(s.buf) {
			return false, errors.New("reply too long")
		}
		r, err := syscall.Read(s.fd, s.buf[s.n:])
		if err == syscall.EAGAIN {
			return false, nil
		}
		if err != nil || r == 0 {
			if err == nil {
				err = errors.New("connection closed early")
			}
			return false, err
		}
		s.n += r
		if s.state == stClosing {
			return ch.closeReplied(s)
		}
		end := bytes.Index(s.buf[:s.n], []byte("\r\n\r\n"))
		if end < 0 {
			return false, nil
		}
		resp := s.buf[:end+4]
		if c.cfg.WebSocket && (!bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) || !bytes.Contains(resp, []byte(wsAccept))) {
			line, _, _ := bytes.Cut(resp, []byte("\r\n"))
			return false, fmt.Errorf("handshake refused: %q", line)
		}
		s.n = copy(s.buf[:], s.buf[end+4:s.n])
		if w, err := syscall.Write(s.fd, c.closeF); err != nil || w != len(c.closeF) {
			return false, fmt.Errorf("writing close frame: %v", err)
		}
		s.state = stClosing
		return ch.closeReplied(s)
	}
	return false, nil
}

// closeReplied reports whether the slot's buffer holds the whole reply to
// the close frame: the server's close frame, or for the TCP echo the frame
// itself.
func (ch *churn) closeReplied(s *churnSlot) (bool, error) {
	want := len(ch.c.closeF)
	if ch.c.cfg.WebSocket {
		if s.n < 2 {
			return false, nil
		}
		if op := s.buf[0] & 0x0f; op != opClose {
			return false, fmt.Errorf("reply to close has opcode %#x", op)
		}
		want = serverHeaderLen(s.buf[:s.n]) + int(s.buf[1]&0x7f)
	}
	return s.n >= want, nil
}
