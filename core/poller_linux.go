package gws

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// poller is ServerOptions.Poller on Linux: one epoll set holding the
// sockets of an Upgrader's connections, and a pool of goroutines serving
// those that have something to read.
//
// Sockets are registered edge-triggered, once, for reading and writing.
// An event marks its connection busy and queues it, unless it is busy
// already, in which case the worker serving it goes round once more
// (pollConn.sched): a connection is served by one worker at a time and
// its events are handled in order, with no epoll_ctl(2) per event.
//
// The epoll descriptor is itself registered with the Go runtime's poller,
// so an idle worker waits in it like any goroutine blocked on a socket,
// without holding a thread: the worker that holds its read lock waits for
// events, and the other idle workers wait for the lock. A worker that gets
// events queues their connections and serves the first; the next idle
// worker takes the lock, finds the queue not empty and serves the next.
//
// The pool starts with one worker and grows by one whenever a worker
// begins to serve a connection and none is left idle, so that a handler
// that blocks (on a lock, a channel, the network) holds up its own
// connection, as it would in goroutine mode, and not the others; past
// maxWorkers, connections wait in the queue for a worker. Workers beyond
// spareWorkers idle ones exit when they run out of work.
type poller struct {
	epfd   int
	file   *os.File        // epfd, watched by the runtime's poller
	raw    syscall.RawConn // file's, whose Read the idle workers take turns in
	wakefd int             // an eventfd that wakes the worker waiting in epfd
	pollFn func(uintptr) bool
	events []syscall.EpollEvent // guarded by raw's read lock

	mu      sync.Mutex
	users   int                                // connections taken over and not yet ended; guarded by group.mu
	table   []*pollConn                        // by descriptor
	laddrs  map[netip.AddrPort]*netip.AddrPort // see localAddr
	head    *pollConn                          // the ready queue
	tail    *pollConn
	idle    int  // workers not serving a connection
	workers int  // workers in all
	woken   bool // a wake-up is pending in wakefd
	closed  bool
}

// pollerSupported says that ServerOptions.Poller works here.
const pollerSupported = true

// maxWorkers bounds the pool: past it, a readable connection waits for a
// worker to come free.
const maxWorkers = 10000

// yieldAfter is how long a worker runs before it lets other goroutines
// run, between two connections. Under a flood no worker ever waits for
// events, so without it the runtime preempted each after 10 ms on the
// CPU, in the middle of serving a connection, which then waited for every
// other runnable worker's turn; and each time the worker waiting for
// events got to run it found none idle and started another, so the pool
// grew to dozens. Poller mode's p99 round trip in pipelined-16B was twice
// goroutine mode's. A worker that yields holds no connection and counts
// as idle until it runs again.
const yieldAfter = 100 * time.Microsecond

// spareWorkers is how many idle workers stay when there is no work.
var spareWorkers = max(2, runtime.GOMAXPROCS(0))

// epollET is EPOLLET as the uint32 epoll_event.events holds it (the
// syscall package's constant is negative).
const epollET = 1 << 31

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	p := &poller{epfd: epfd, wakefd: -1, events: make([]syscall.EpollEvent, 128)}
	fail := func(err error) (*poller, error) {
		if p.wakefd >= 0 {
			syscall.Close(p.wakefd)
		}
		syscall.Close(epfd)
		return nil, err
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		return fail(os.NewSyscallError("eventfd2", e))
	}
	p.wakefd = int(r)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wakefd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wakefd, &ev); err != nil {
		return fail(os.NewSyscallError("epoll_ctl", err))
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		return fail(os.NewSyscallError("setnonblock", err))
	}
	p.file = os.NewFile(uintptr(epfd), "gws-epoll")
	if p.raw, err = p.file.SyscallConn(); err != nil {
		p.file.Close()
		syscall.Close(p.wakefd)
		return nil, err
	}
	p.pollFn = p.poll
	p.workers, p.idle = 1, 1
	go p.work()
	return p, nil
}

// add registers pc's socket.
func (p *poller) add(pc *pollConn) error {
	p.mu.Lock()
	fd := int(pc.fd)
	if fd >= len(p.table) {
		grown := make([]*pollConn, max(fd+1, 2*len(p.table), 64))
		copy(grown, p.table)
		p.table = grown
	}
	p.table[fd] = pc
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET, Fd: pc.fd}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.remove(pc)
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// localAddr returns the poller's copy of a, shared by every socket with
// that local address (a server's sockets have a few between them), so
// that each keeps a pointer rather than the 32-byte address.
func (p *poller) localAddr(a netip.AddrPort) *netip.AddrPort {
	p.mu.Lock()
	defer p.mu.Unlock()
	if shared, ok := p.laddrs[a]; ok {
		return shared
	}
	if p.laddrs == nil {
		p.laddrs = make(map[netip.AddrPort]*netip.AddrPort)
	}
	p.laddrs[a] = &a
	return &a
}

// remove stops events for pc's socket, which is still open.
func (p *poller) remove(pc *pollConn) {
	fd := int(pc.fd)
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	p.mu.Lock()
	if fd < len(p.table) && p.table[fd] == pc {
		p.table[fd] = nil
	}
	p.mu.Unlock()
}

// schedule has pc served, from outside the poller: by start, a read
// deadline, the memory budget or Close.
func (p *poller) schedule(pc *pollConn) {
	if pc.mark() {
		p.enqueue(pc)
	}
}

// enqueue queues pc, marked busy, and wakes an idle worker.
func (p *poller) enqueue(pc *pollConn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.push(pc)
	if p.idle > 0 && !p.woken {
		// The idle workers may all be waiting in epfd or for its lock.
		// Under p.mu, so that stop cannot close wakefd meanwhile.
		p.woken = true
		one := uint64(1)
		syscall.Write(p.wakefd, (*[8]byte)(unsafe.Pointer(&one))[:])
	}
	p.mu.Unlock()
}

// mark records an event for pc and reports whether pc must be queued.
func (pc *pollConn) mark() bool {
	for {
		switch pc.sched.Load() {
		case pollIdle:
			if pc.sched.CompareAndSwap(pollIdle, pollBusy) {
				return true
			}
		case pollBusy:
			if pc.sched.CompareAndSwap(pollBusy, pollAgain) {
				return false
			}
		default:
			return false
		}
	}
}

// push appends pc to the ready queue; p.mu is held.
func (p *poller) push(pc *pollConn) {
	pc.next = nil
	if p.tail == nil {
		p.head = pc
	} else {
		p.tail.next = pc
	}
	p.tail = pc
}

// pop takes the first connection of the ready queue; p.mu is held.
func (p *poller) pop() *pollConn {
	pc := p.head
	if pc != nil {
		p.head = pc.next
		if p.head == nil {
			p.tail = nil
		}
		pc.next = nil
	}
	return pc
}

// work is a worker: it serves queued connections, and waits for events
// when there are none.
func (p *poller) work() {
	ran := time.Since(monoStart)
	p.mu.Lock()
	// Counted idle by whoever started it.
	for !p.closed {
		pc := p.pop()
		if pc == nil {
			p.mu.Unlock()
			err := p.raw.Read(p.pollFn)
			ran = time.Since(monoStart)
			p.mu.Lock()
			if err != nil {
				break
			}
			continue
		}
		p.idle--
		if p.idle == 0 && p.workers < maxWorkers {
			p.workers++
			p.idle++
			go p.work()
		}
		p.mu.Unlock()
		pc.serve()
		p.mu.Lock()
		if p.head == nil && p.idle >= spareWorkers {
			p.workers--
			p.mu.Unlock()
			return
		}
		p.idle++
		if time.Since(monoStart)-ran > yieldAfter {
			// Counted idle meanwhile: it holds no connection and takes
			// the next from the queue when it runs again, so a worker
			// that finds none idle need not start another for it.
			p.mu.Unlock()
			runtime.Gosched()
			ran = time.Since(monoStart)
			p.mu.Lock()
		}
	}
	p.idle--
	p.workers--
	p.mu.Unlock()
}

// poll is the callback of p.raw.Read: it queues the connections that have
// events and reports true once there is work, or false to wait for epfd to
// become readable.
func (p *poller) poll(uintptr) bool {
	for {
		p.mu.Lock()
		ready := p.head != nil || p.closed
		p.mu.Unlock()
		if ready {
			return true
		}
		n, err := syscall.EpollWait(p.epfd, p.events, 0)
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 {
			return false
		}
		p.mu.Lock()
		for _, ev := range p.events[:n] {
			p.ready(int(ev.Fd), ev.Events)
		}
		p.mu.Unlock()
	}
}

// ready handles one event; p.mu is held.
func (p *poller) ready(fd int, events uint32) {
	if fd == p.wakefd {
		var b [8]byte
		syscall.Read(p.wakefd, b[:])
		p.woken = false
		return
	}
	if fd >= len(p.table) || p.table[fd] == nil {
		return
	}
	pc := p.table[fd]
	if w := pc.w.Load(); w != nil {
		w.notify(events)
	}
	if events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 && pc.mark() {
		p.push(pc)
	}
}

// stop closes the epoll set once no connection uses it; the workers exit.
func (p *poller) stop() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	// Close wakes the worker waiting in epfd and those waiting for its
	// lock, and returns once they are out.
	p.file.Close()
	syscall.Close(p.wakefd)
}

// serve runs pc's events on the calling worker: OnOpen the first time,
// then what there is to read, again while events come meanwhile, and the
// end of the connection when reading ends it.
func (pc *pollConn) serve() {
	c := pc.c
	if !pc.opened {
		pc.opened = true
		c.handler.OnOpen(c)
	}
	for {
		pc.sched.Store(pollBusy)
		if c.pollRead() {
			c.endPolled(c.loopErr)
			return
		}
		if pc.sched.CompareAndSwap(pollBusy, pollIdle) {
			return
		}
	}
}

// pollRead reads what the socket holds and handles its frames, and
// reports whether the connection has ended, its error in c.loopErr.
func (c *Conn) pollRead() bool {
	pc := c.pc
	if !pc.incref() {
		c.loopErr = pc.opError("read", net.ErrClosed)
		return true
	}
	defer pc.decref()
	if pc.readExpired() {
		c.loopErr = pc.opError("read", os.ErrDeadlineExceeded)
		return true
	}
	return c.tryRead(uintptr(pc.fd))
}

// endPolled ends a connection of the poller. Failing it for a protocol
// error lingers, waiting up to a second for the peer to close (see
// linger): that waiting gets a goroutine of its own rather than a worker.
func (c *Conn) endPolled(err error) {
	if _, failed := err.(*CloseError); failed && c.localErr.Load() == nil {
		go func() {
			c.finish(err)
			c.g.pollerDone(c.pc.p)
		}()
		return
	}
	c.finish(err)
	c.g.pollerDone(c.pc.p)
}

// takeOver moves the connection into the group's poller, when the options
// ask for it and the connection is a TCP socket: it duplicates the
// descriptor, registers it, and closes nc. Otherwise the connection runs
// in goroutine mode.
func (c *Conn) takeOver() {
	ra, ok1 := c.nc.RemoteAddr().(*net.TCPAddr)
	la, ok2 := c.nc.LocalAddr().(*net.TCPAddr)
	if c.raw == nil || !ok1 || !ok2 {
		return
	}
	p, err := c.g.pollerFor()
	if err != nil {
		c.g.logPoller(err)
		return
	}
	fd := -1
	c.raw.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			err = os.NewSyscallError("fcntl", e)
			return
		}
		fd = int(r)
	})
	if fd < 0 {
		c.g.pollerDone(p)
		c.g.logPoller(fmt.Errorf("duplicating the socket: %w", err))
		return
	}
	pc := &pollConn{c: c, p: p, fd: int32(fd), laddr: p.localAddr(la.AddrPort()), raddr: ra.AddrPort()}
	// Busy until start queues it: nothing is served before the 101.
	pc.sched.Store(pollBusy)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		c.g.pollerDone(p)
		c.g.logPoller(os.NewSyscallError("setnonblock", err))
		return
	}
	if err := p.add(pc); err != nil {
		syscall.Close(fd)
		c.g.pollerDone(p)
		c.g.logPoller(err)
		return
	}
	c.nc.Close()
	c.nc, c.raw, c.pc = pc, (*pollRaw)(pc), pc
}

// startPolled queues a connection of the poller for its first events and
// reports whether it is one.
func (c *Conn) startPolled() bool {
	if c.pc == nil {
		return false
	}
	c.pc.p.enqueue(c.pc)
	return true
}

// pollWake has the poller serve the connection again, for the budget.
func (c *Conn) pollWake() { c.pc.p.schedule(c.pc) }

// abandonPolled releases the poller of a connection whose handshake
// response could not be written.
func (c *Conn) abandonPolled() {
	if c.pc != nil {
		c.g.pollerDone(c.pc.p)
	}
}

// writeBuffers writes v to the socket with writev(2). In goroutine mode
// it goes through c.raw rather than net.Buffers.WriteTo, which uses
// writev only on the standard library's own connections: the one
// gwsfasthttp hands over is an *os.File, on which WriteTo made a write(2)
// per buffer, two per large frame and one per queued frame in a batch.
func (c *Conn) writeBuffers(v *net.Buffers) (int64, error) {
	if c.pc != nil {
		return c.pc.writeBuffers(v)
	}
	if c.raw == nil {
		return v.WriteTo(c.nc)
	}
	q := c.queue()
	q.wv, q.wn, q.werr = v, 0, 0
	err := c.raw.Write(q.writevFn)
	n, errno := q.wn, q.werr
	q.wv = nil
	if err == nil && errno != 0 {
		err = os.NewSyscallError("writev", errno)
	}
	return n, err
}

// bindWritev binds writev once per queue, so that writeBuffers does not
// allocate a callback per write.
func (q *writeQueue) bindWritev() { q.writevFn = q.writev }

// writev is the callback of c.raw.Write for writeBuffers: it writes q.wv
// until all is written or a write fails, and waits for the runtime's
// poller while the socket is full.
func (q *writeQueue) writev(fd uintptr) bool {
	n, e := writevSome(fd, q.wv)
	q.wn += n
	if e == syscall.EAGAIN {
		return false
	}
	q.werr = e
	return true
}

// pollerFor returns the group's poller, starting it if there is none, and
// counts one more connection using it.
func (g *group) pollerFor() (*poller, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.poll == nil {
		p, err := newPoller()
		if err != nil {
			return nil, err
		}
		g.poll = p
	}
	g.poll.users++
	return g.poll, nil
}

// pollerDone counts one connection less using p, and stops p when none is
// left, so that an Upgrader without connections has no goroutine.
func (g *group) pollerDone(p *poller) {
	g.mu.Lock()
	p.users--
	last := p.users == 0
	if last && g.poll == p {
		g.poll = nil
	}
	g.mu.Unlock()
	if last {
		p.stop()
	}
}

// logPoller says why a connection runs in goroutine mode after all.
func (g *group) logPoller(err error) {
	g.cfg.pollerLogger().Warn("gws: poller unavailable; this connection runs on a goroutine of its own", "err", err)
}
