//go:build unix

package gwsfasthttp

import (
	"net"
	"os"
	"syscall"
)

// dupFile returns a duplicate of nc's socket as an *os.File, or nil when
// nc has none. Unlike net.TCPConn.File it does not name the file after the
// addresses, which costs a handful of allocations per connection.
func dupFile(nc net.Conn) *os.File {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	fd := -1
	raw.Control(func(s uintptr) {
		syscall.ForkLock.RLock()
		if fd, err = syscall.Dup(int(s)); err == nil {
			syscall.CloseOnExec(fd)
		}
		syscall.ForkLock.RUnlock()
	})
	if err != nil || fd < 0 {
		return nil
	}
	return os.NewFile(uintptr(fd), "")
}
