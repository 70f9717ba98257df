package servers

import (
	"net"
	"syscall"
	"unsafe"
)

// tcpInq is TCP_INQ (linux/tcp.h), newer than the syscall package.
const tcpInq = 36

// echoTCP echoes c inside one RawConn.Read, so that readiness the poller
// reports meanwhile is kept. With TCP_INQ each read also says whether the
// socket is now empty with no FIN queued; then, once the echo has been
// written (which fails if the peer reset), the loop waits for the poller
// instead of making a read that would fail with EAGAIN. gws's read loop
// does the same, and writes with send(2) as sendAll does; the floor must
// not make more system calls than gws, nor costlier ones.
func echoTCP(c *net.TCPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	// As large as the biggest message the scenarios send, so that one
	// read and one write move a whole message.
	buf := make([]byte, 32<<10)
	var ctl [syscall.SizeofCmsghdr + 8]byte
	raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpInq, 1) })
	raw.Read(func(fd uintptr) bool {
		for {
			iov := syscall.Iovec{Base: &buf[0]}
			iov.SetLen(len(buf))
			msg := syscall.Msghdr{Iov: &iov, Iovlen: 1, Control: &ctl[0]}
			msg.SetControllen(len(ctl))
			n, _, e := syscall.Syscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&msg)), 0)
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false
			case e != 0 || n == 0:
				return true
			}
			if !sendAll(c, fd, buf[:n]) {
				return true
			}
			h := (*syscall.Cmsghdr)(unsafe.Pointer(&ctl[0]))
			empty := int(msg.Controllen) >= syscall.SizeofCmsghdr+4 && h.Level == syscall.IPPROTO_TCP &&
				h.Type == tcpInq && *(*int32)(unsafe.Pointer(&ctl[syscall.SizeofCmsghdr])) == 0
			if empty {
				return false
			}
		}
	})
}

// sendAll writes p with send(2), which costs less CPU time than write(2)
// on a socket, and leaves what the socket does not take at once to
// c.Write, which waits for room. It reports whether all went out.
func sendAll(c *net.TCPConn, fd uintptr, p []byte) bool {
	n, _, e := syscall.Syscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
	switch {
	case e == 0 && int(n) == len(p):
		return true
	case e == 0:
		p = p[n:]
	case e != syscall.EAGAIN && e != syscall.EINTR:
		return false
	}
	_, err := c.Write(p)
	return err == nil
}
