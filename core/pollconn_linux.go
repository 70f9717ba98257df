package gws

import (
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pollConn is a connection's socket once the poller has taken it over: the
// descriptor, duplicated from the net.Conn the server handed over, which
// is then closed so that the runtime's own poller keeps nothing for it
// (its netFD, pollDesc and addresses are about 500 bytes a connection).
// It is the Conn's net.Conn, and as pollRaw its syscall.RawConn: reads and
// writes go straight to the descriptor, and an operation that must wait (a
// write to a full socket, a read while the connection lingers) waits for
// the poller to report readiness, within the deadline.
type pollConn struct {
	c      *Conn
	p      *poller
	refs   atomic.Int64 // operations using fd; refClosed once Close began
	fd     int32
	sched  atomic.Int32 // pollIdle, pollBusy or pollAgain
	opened bool         // OnOpen was called; touched by the serving worker only
	next   *pollConn    // in p's ready queue, guarded by p.mu

	rdl, wdl atomic.Int64 // deadlines in Unix nanoseconds, 0 for none
	raddr    netip.AddrPort
	laddr    *netip.AddrPort           // shared by the poller's sockets with the same address
	w        atomic.Pointer[pollWaits] // made on the first wait or read deadline
}

// pollRaw is a pollConn's syscall.RawConn (whose Write method differs from
// net.Conn's).
type pollRaw pollConn

// pollWaits is what a connection needs only once something waits on it.
type pollWaits struct {
	readable chan struct{} // the poller reported readiness since the last wait
	writable chan struct{}
	closed   chan struct{} // closed by Close

	mu     sync.Mutex
	rtimer *time.Timer // at the read deadline: ends the connection
}

// refClosed marks pollConn.refs once Close has begun.
const refClosed = 1 << 62

// The states of pollConn.sched.
const (
	pollIdle  = iota // waiting for events, in the poller only
	pollBusy         // in the ready queue, or being served
	pollAgain        // being served, and events came meanwhile: serve again
)

// incref takes a reference to the descriptor for one operation, and
// reports false once the connection is closed.
func (pc *pollConn) incref() bool {
	for {
		s := pc.refs.Load()
		if s&refClosed != 0 {
			return false
		}
		if pc.refs.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// decref gives a reference back; the last one after Close closes the
// descriptor, so that it is never reused for another socket while an
// operation still writes to it.
func (pc *pollConn) decref() {
	if pc.refs.Add(-1) == refClosed {
		syscall.Close(int(pc.fd))
	}
}

// waits returns pc's pollWaits, making them on first use.
func (pc *pollConn) waits() *pollWaits {
	if w := pc.w.Load(); w != nil {
		return w
	}
	w := &pollWaits{readable: make(chan struct{}, 1), writable: make(chan struct{}, 1), closed: make(chan struct{})}
	if !pc.w.CompareAndSwap(nil, w) {
		return pc.w.Load()
	}
	if pc.refs.Load()&refClosed != 0 {
		// Close may have looked for waits before they were there.
		w.close()
	}
	return w
}

// close wakes every waiter for good.
func (w *pollWaits) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.closed:
	default:
		close(w.closed)
	}
	if w.rtimer != nil {
		w.rtimer.Stop()
	}
}

// notify passes the readiness the poller reported to whoever waits.
func (w *pollWaits) notify(events uint32) {
	if events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		select {
		case w.readable <- struct{}{}:
		default:
		}
	}
	if events&(syscall.EPOLLOUT|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		select {
		case w.writable <- struct{}{}:
		default:
		}
	}
}

// wait waits for readiness on ready (w.readable or w.writable), until the
// deadline dl or Close. The caller tried the operation after a previous
// wait, or after making the waits: readiness reported since is in ready.
func (pc *pollConn) wait(ready chan struct{}, dl *atomic.Int64, op string) error {
	w := pc.waits()
	var expire <-chan time.Time
	if d := dl.Load(); d != 0 {
		left := time.Until(time.Unix(0, d))
		if left <= 0 {
			return pc.opError(op, os.ErrDeadlineExceeded)
		}
		t := time.NewTimer(left)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-ready:
		return nil
	case <-w.closed:
		return pc.opError(op, net.ErrClosed)
	case <-expire:
		return pc.opError(op, os.ErrDeadlineExceeded)
	}
}

func (pc *pollConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: pc.LocalAddr(), Addr: pc.RemoteAddr(), Err: err}
}

// readExpired reports whether the read deadline has passed.
func (pc *pollConn) readExpired() bool {
	d := pc.rdl.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

// Read reads like net.Conn.Read, waiting for the poller while the socket
// is empty. gws reads this way only while it lingers after failing a
// connection; the read loop reads from the worker that serves it.
func (pc *pollConn) Read(p []byte) (int, error) {
	if !pc.incref() {
		return 0, pc.opError("read", net.ErrClosed)
	}
	defer pc.decref()
	waited := false
	for {
		if pc.readExpired() {
			return 0, pc.opError("read", os.ErrDeadlineExceeded)
		}
		n, err := syscall.Read(int(pc.fd), p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			w := pc.waits()
			if !waited {
				// Readiness may have come before the waits were made.
				waited = true
				select {
				case <-w.readable:
				default:
				}
				continue
			}
			if err := pc.wait(w.readable, &pc.rdl, "read"); err != nil {
				return 0, err
			}
			continue
		case err != nil:
			return 0, pc.opError("read", os.NewSyscallError("read", err))
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p, waiting for the poller while the socket is full.
func (pc *pollConn) Write(p []byte) (int, error) {
	v := net.Buffers{p}
	n, err := pc.writeBuffers(&v)
	return int(n), err
}

// waitWritable waits for room in the socket after a write found it full.
// The first time, it only makes sure the waits exist and clears readiness
// reported before, and the caller writes again.
func (pc *pollConn) waitWritable(waited *bool) error {
	w := pc.waits()
	if !*waited {
		*waited = true
		select {
		case <-w.writable:
		default:
		}
		return nil
	}
	return pc.wait(w.writable, &pc.wdl, "write")
}

// writeBuffers writes v with writev(2) as net.Buffers.WriteTo does on a
// *net.TCPConn (which it cannot do on a net.Conn of gws's own), consuming
// v as it goes.
func (pc *pollConn) writeBuffers(v *net.Buffers) (int64, error) {
	if !pc.incref() {
		return 0, pc.opError("writev", net.ErrClosed)
	}
	defer pc.decref()
	var written int64
	waited := false
	for {
		n, e := writevSome(uintptr(pc.fd), v)
		written += n
		switch e {
		case 0:
			return written, nil
		case syscall.EAGAIN:
			if err := pc.waitWritable(&waited); err != nil {
				return written, err
			}
		default:
			return written, pc.opError("writev", os.NewSyscallError("writev", e))
		}
	}
}

// writevSome writes v to fd with writev(2), consuming it, until all of it
// is written or a call fails with other than EINTR (EAGAIN: the socket is
// full); it returns what it wrote and that failure.
func writevSome(fd uintptr, v *net.Buffers) (int64, syscall.Errno) {
	var written int64
	for len(*v) > 0 {
		n, e := sysWritev(fd, *v)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return written, e
		}
		written += int64(n)
		consume(v, int(n))
	}
	return written, 0
}

// consume drops the first n bytes of v, as writev(2) wrote them.
func consume(v *net.Buffers, n int) {
	for len(*v) > 0 && n >= len((*v)[0]) {
		n -= len((*v)[0])
		(*v)[0] = nil
		*v = (*v)[1:]
	}
	if len(*v) > 0 {
		(*v)[0] = (*v)[0][n:]
	}
}

// Close ends the connection's use of the socket: no more events, waiters
// woken, and the descriptor closed once the last operation on it is over.
// When the connection is still being served (Close through NetConn), the
// worker that serves it next finds it closed and ends it.
func (pc *pollConn) Close() error {
	for {
		s := pc.refs.Load()
		if s&refClosed != 0 {
			return pc.opError("close", net.ErrClosed)
		}
		if pc.refs.CompareAndSwap(s, (s+1)|refClosed) {
			break
		}
	}
	pc.p.remove(pc)
	if w := pc.w.Load(); w != nil {
		w.close()
	}
	pc.p.schedule(pc)
	pc.decref()
	return nil
}

// CloseWrite shuts down the writing side, as net.TCPConn.CloseWrite does.
func (pc *pollConn) CloseWrite() error {
	if !pc.incref() {
		return pc.opError("close", net.ErrClosed)
	}
	defer pc.decref()
	if err := syscall.Shutdown(int(pc.fd), syscall.SHUT_WR); err != nil {
		return pc.opError("close", os.NewSyscallError("shutdown", err))
	}
	return nil
}

// LocalAddr returns the local address.
func (pc *pollConn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(*pc.laddr) }

// RemoteAddr returns the peer's address.
func (pc *pollConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(pc.raddr) }

// SetDeadline sets both deadlines.
func (pc *pollConn) SetDeadline(t time.Time) error {
	pc.SetReadDeadline(t)
	return pc.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline. Nothing reads a connection the
// poller parks, so a timer serves it once the deadline passes: the worker
// then ends the connection, as a read that reached its deadline would.
func (pc *pollConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		pc.rdl.Store(0)
		if w := pc.w.Load(); w != nil {
			w.mu.Lock()
			if w.rtimer != nil {
				w.rtimer.Stop()
			}
			w.mu.Unlock()
		}
		return nil
	}
	pc.rdl.Store(max(t.UnixNano(), 1))
	w := pc.waits()
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.closed:
		return nil
	default:
	}
	d := time.Until(t)
	if w.rtimer == nil {
		w.rtimer = time.AfterFunc(d, pc.readDeadlinePassed)
	} else {
		w.rtimer.Reset(d)
	}
	return nil
}

// readDeadlinePassed wakes whoever reads: the worker that serves the
// connection, or a blocked Read.
func (pc *pollConn) readDeadlinePassed() {
	if w := pc.w.Load(); w != nil {
		w.notify(syscall.EPOLLIN)
	}
	pc.p.schedule(pc)
}

// SetWriteDeadline sets the write deadline, which bounds waits for room in
// the socket.
func (pc *pollConn) SetWriteDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = max(t.UnixNano(), 1)
	}
	pc.wdl.Store(d)
	return nil
}

// SyscallConn returns the socket's syscall.RawConn.
func (pc *pollConn) SyscallConn() (syscall.RawConn, error) { return (*pollRaw)(pc), nil }

// Control calls f with the descriptor, which stays open meanwhile.
func (r *pollRaw) Control(f func(fd uintptr)) error {
	pc := (*pollConn)(r)
	if !pc.incref() {
		return pc.opError("raw-control", net.ErrClosed)
	}
	f(uintptr(pc.fd))
	pc.decref()
	return nil
}

// Read calls f until it returns true, waiting for the poller to report
// the socket readable in between.
func (r *pollRaw) Read(f func(fd uintptr) bool) error {
	pc := (*pollConn)(r)
	if !pc.incref() {
		return pc.opError("raw-read", net.ErrClosed)
	}
	defer pc.decref()
	var w *pollWaits
	for !f(uintptr(pc.fd)) {
		if w == nil {
			// Readiness may have come before the waits were made: try
			// once more after making them.
			w = pc.waits()
			continue
		}
		if err := pc.wait(w.readable, &pc.rdl, "raw-read"); err != nil {
			return err
		}
	}
	return nil
}

// Write calls f until it returns true, waiting for the poller to report
// room in the socket in between, within the write deadline.
func (r *pollRaw) Write(f func(fd uintptr) bool) error { return (*pollConn)(r).writeLoop(f) }

// writeLoop is pollRaw.Write; the Conn calls it directly, so that the
// method value it passes stays on the stack.
func (pc *pollConn) writeLoop(f func(fd uintptr) bool) error {
	if !pc.incref() {
		return pc.opError("raw-write", net.ErrClosed)
	}
	defer pc.decref()
	waited := false
	for !f(uintptr(pc.fd)) {
		if err := pc.waitWritable(&waited); err != nil {
			return err
		}
	}
	return nil
}
