//go:build unix && (race || !linux || 386)

package gws

import "syscall"

// sysWrite is syscall.Write: on systems other than Linux, on linux/386
// (whose socket calls go through socketcall(2)), and under the race
// detector, which counts a write to a socket and a read from it as
// synchronisation only when they go through the syscall package's own
// functions.
func sysWrite(fd uintptr, p []byte) (uintptr, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return uintptr(n), 0
}

// sysWritev writes the first non-empty buffer of bufs with sysWrite; a
// caller that loops until all are written gets them all.
func sysWritev(fd uintptr, bufs [][]byte) (uintptr, syscall.Errno) {
	for _, b := range bufs {
		if len(b) > 0 {
			return sysWrite(fd, b)
		}
	}
	return 0, 0
}
