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
	if c.raw == nil {
		return c.nc.Close()
	}
	c.raw.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
	return nil
}

// tryWrite is the callback of c.raw.Write: one non-blocking attempt to
// write c.wtry, leaving in c.wtryN how much went out (0 when the socket
// buffer is full) and in c.wtryErr a real failure. It never waits.
func (c *Conn) tryWrite(fd uintptr) bool {
	for {
		n, e := sysWrite(fd, c.wtry)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			c.wtryN, c.wtryErr = 0, nil
		case e != 0:
			c.wtryN, c.wtryErr = 0, os.NewSyscallError("write", e)
		default:
			c.wtryN, c.wtryErr = int(n), nil
		}
		return true
	}
}

// writeAll is the callback of c.raw.Write for writeOut: it writes c.wtry
// through and asks the poller to wait while the socket buffer is full,
// after putting WriteTimeout on the socket if no deadline is there, and
// leaves a real failure in c.wtryErr.
func (c *Conn) writeAll(fd uintptr) bool {
	for len(c.wtry) > 0 {
		n, e := sysWrite(fd, c.wtry)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			if c.wdeadline.Load() == 0 {
				c.setWriteDeadline()
			}
			return false
		case e != 0:
			c.wtryErr = os.NewSyscallError("write", e)
			return true
		}
		c.wtry = c.wtry[n:]
	}
	return true
}
