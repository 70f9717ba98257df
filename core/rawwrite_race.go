//go:build unix && race

package gws

import "syscall"

// sysWrite is syscall.Write under the race detector, which counts a write
// to a socket and a read from it as synchronisation only when they go
// through the syscall package's own functions.
func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}
