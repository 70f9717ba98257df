//go:build unix

package gws

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawConnOf returns access to nc's file descriptor, for the read loop and
// writes that go straight to the socket, or nil when nc has none (TLS,
// pipes): then all I/O goes through net.Conn.
func rawConnOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// tryRead is the callback of c.raw.Read, and the read loop: it handles
// what is buffered, reads more into the read buffer (borrowed only now
// that bytes are there) or straight into a large payload, and asks the
// poller to wait when the socket is empty. An idle connection gives its
// buffer back. The error that ends the loop is left in c.loopErr.
//
// The poller reports readiness by edges, and RawConn.Read keeps what it
// reported while the loop runs, so once the socket is known to be empty
// the loop can wait at once, without the read that would fail with EAGAIN
// (one system call in three of a request-reply exchange). Known empty
// takes two proofs. TCP_INQ says no byte and no FIN was left behind the
// last read. A reset is not counted there, and one that arrived with the
// last data was reported by the same edge; so a write must also have
// succeeded after that read, which it cannot once the peer has reset.
func (c *Conn) tryRead(fd uintptr) bool {
	for {
		if err := c.advance(); err != errNeedMore {
			if err == errBudgetWait {
				// Poller mode: parked without reading until the budget
				// has room (see reserveRead).
				return false
			}
			c.loopErr = err
			return true
		}
		if c.drained && c.wroteAt.Load() == c.reads.Load() {
			c.drained = false
			c.releaseIfIdle()
			return false
		}
		dst, direct := c.readTarget()
		var n int
		var err error
		if c.inq {
			n, c.drained, err = readInq(fd, dst)
		} else {
			n, err = syscall.Read(int(fd), dst)
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if !c.inqTried && c.reads.Load() > 1 {
				// A connection that has had data twice and waits for
				// more is one that lives on: TCP_INQ's setsockopt pays
				// off from its next message, while a connection that
				// sends a message or two and goes never makes it.
				c.inq, c.inqTried = enableInq(fd), true
			}
			c.releaseIfIdle()
			return false
		case err != nil:
			c.loopErr = os.NewSyscallError("read", err)
			return true
		case n == 0:
			c.loopErr = io.EOF
			return true
		}
		c.reads.Add(1)
		if err := c.received(n, direct); err != nil {
			c.loopErr = err
			return true
		}
	}
}

// closeNet stops the connection's I/O without waiting for the read loop.
// net.Conn.Close waits until no goroutine is inside the descriptor's
// RawRead, and the read loop (with the event handlers it calls) runs there:
// closing from a handler would wait for itself. shutdown(2) instead ends
// both directions at once and wakes the loop, which closes the socket
// once it is out.
func (c *Conn) closeNet() error {
	c.cancelBudgetWait()
	if c.raw == nil {
		return c.nc.Close()
	}
	c.raw.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
	return nil
}

// rawWrite is the callback of c.raw.Write: it writes c.wtry through,
// leaving what is left of it in c.wtry and a real failure in c.wtryErr.
// When the socket buffer is full it returns at once if c.wnowait is set
// (writeNow, which hands the rest to a drainer); otherwise it asks the
// poller to wait, after putting WriteTimeout on the socket if no deadline
// is there (writeOut). c.wmu is held either way.
func (c *Conn) rawWrite(fd uintptr) bool {
	for len(c.wtry) > 0 {
		n, e := sysWrite(fd, c.wtry)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			if c.wnowait {
				return true
			}
			if c.wdeadline.Load() == 0 {
				c.setWriteDeadline()
			}
			return false
		case e != 0:
			c.wtryErr = e
			return true
		}
		c.wtry = c.wtry[n:]
	}
	return true
}
