//go:build unix && !race

package gws

import (
	"syscall"
	"unsafe"
)

// sysWrite is write(2) through syscall.Syscall rather than syscall.Write:
// one stack frame fewer at the deepest point of the path writeOut keeps
// short.
func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.Syscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), e
}
