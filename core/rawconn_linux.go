//go:build linux && !386

package gws

import (
	"syscall"
	"unsafe"
)

// tcpInq is TCP_INQ from linux/tcp.h (Linux 4.18 and later), which the
// syscall package predates. With it on, every recvmsg(2) carries a control
// message telling how many bytes are left in the receive queue, and a
// non-zero count once the peer's FIN is queued, so that a reader can tell
// "the socket is empty" from "only the end of the stream is left" without
// another read.
const tcpInq = 36

// inqSpace is the room for one TCP_CM_INQ control message: a header and
// an int32, padded to the header's alignment.
const inqSpace = syscall.SizeofCmsghdr + 8

// enableInq turns TCP_INQ on for the socket; false when the kernel or the
// socket type (not TCP) does not have it.
func enableInq(fd uintptr) bool {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpInq, 1) == nil
}

// readInq reads into p like read(2) and reports whether the receive queue
// was left empty with no FIN behind it. Without the control message it
// reports false, which only costs the caller a read that finds nothing.
func readInq(fd uintptr, p []byte) (n int, empty bool, err error) {
	var ctl [inqSpace]byte
	iov := syscall.Iovec{Base: unsafe.SliceData(p)}
	iov.SetLen(len(p))
	msg := syscall.Msghdr{Iov: &iov, Iovlen: 1, Control: &ctl[0]}
	msg.SetControllen(len(ctl))
	r, _, e := syscall.Syscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&msg)), 0)
	if e != 0 {
		return 0, false, e
	}
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&ctl[0]))
	if int(msg.Controllen) >= syscall.SizeofCmsghdr+4 && h.Level == syscall.IPPROTO_TCP && h.Type == tcpInq {
		empty = *(*int32)(unsafe.Pointer(&ctl[syscall.SizeofCmsghdr])) == 0
	}
	return int(r), empty, nil
}
