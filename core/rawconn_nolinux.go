//go:build unix && (!linux || 386)

package gws

import "syscall"

// enableInq reports that this system has no TCP_INQ (or, on linux/386,
// that the syscall package has no recvmsg(2) to read it with): the read
// loop always reads until the socket says EAGAIN.
func enableInq(uintptr) bool { return false }

// readInq is read(2); it never reports an empty queue.
func readInq(fd uintptr, p []byte) (int, bool, error) {
	n, err := syscall.Read(int(fd), p)
	return n, false, err
}
