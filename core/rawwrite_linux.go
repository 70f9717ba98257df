//go:build linux && !386 && !race

package gws

import (
	"syscall"
	"unsafe"
)

// sysWrite writes p to the socket fd with send(2), not write(2), which
// goes through the file layer's checks and notifications before reaching
// the socket: a loopback echo server spent 0.4 µs (4-5 %) less CPU time
// per message with send, 16 B or 1 KiB, measured against write in one
// run. MSG_NOSIGNAL keeps a peer's reset from raising SIGPIPE. It calls
// syscall.Syscall6 directly, one stack frame fewer at the deepest point of
// the path writeOut keeps short, and is small enough to be inlined there
// (TestIdleStackStaysSmall checks the depth).
func sysWrite(fd uintptr, p []byte) (uintptr, syscall.Errno) {
	n, _, e := syscall.Syscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
	return n, e
}
