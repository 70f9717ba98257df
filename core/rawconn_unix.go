//go:build unix

package gws

import (
	"io"
	"os"
	"syscall"
)

// tryRead is the callback of c.raw.Read. It reads whatever the socket has
// into the read buffer, borrowing one only now that bytes are there; when
// there are none it gives the buffer back and asks the poller to wait, so
// an idle connection holds no buffer at all. A failed read is left in
// c.rerr.
func (c *Conn) tryRead(fd uintptr) bool {
	if c.rbuf == nil {
		c.takeBuffer(0)
	}
	for {
		n, err := syscall.Read(int(fd), (*c.rbuf)[c.rend:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if c.rpos == c.rend {
				c.releaseBuffer()
			}
			return false
		case err != nil:
			c.rerr = os.NewSyscallError("read", err)
		case n == 0:
			c.rerr = io.EOF
		default:
			c.rend += n
		}
		return true
	}
}

// tryWrite is the callback of c.raw.Write: one non-blocking attempt to
// write c.wtry, leaving in c.wtryN how much went out (0 when the socket
// buffer is full) and in c.wtryErr a real failure. It never waits.
func (c *Conn) tryWrite(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), c.wtry)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.wtryN, c.wtryErr = 0, nil
		case err != nil:
			c.wtryN, c.wtryErr = 0, os.NewSyscallError("write", err)
		default:
			c.wtryN, c.wtryErr = n, nil
		}
		return true
	}
}
