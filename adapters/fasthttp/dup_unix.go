//go:build unix

package gwsfasthttp

import (
	"net"
	"os"
	"syscall"
)

// dupConn returns a connection over a duplicate of nc's socket, which
// fasthttp's Close does not affect, or nil when nc has none.
//
// It is an *os.File over the duplicate, with nc's addresses, rather than
// net.FileConn's *net.TCPConn: FileConn duplicates the descriptor a second
// time, asks the kernel for its type and both addresses and sets TCP
// options fasthttp's socket already has, which together cost about a fifth
// of the server's CPU per handshake through this adapter (connrate
// profile). The runtime's poller serves a non-blocking *os.File as it
// serves a socket, deadlines included, and gws reads and writes the
// descriptor through its syscall.RawConn.
func dupConn(nc net.Conn) net.Conn {
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
	// The duplicate shares the socket's O_NONBLOCK, so NewFile registers
	// it with the runtime's poller.
	return &fileConn{File: os.NewFile(uintptr(fd), ""), laddr: nc.LocalAddr(), raddr: nc.RemoteAddr()}
}

// fileConn is a net.Conn over an *os.File holding a socket.
type fileConn struct {
	*os.File
	laddr, raddr net.Addr
}

func (c *fileConn) LocalAddr() net.Addr  { return c.laddr }
func (c *fileConn) RemoteAddr() net.Addr { return c.raddr }
