//go:build !unix

package gws

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: the read loop and writes use file descriptors
// directly only on Unix, and all I/O here goes through net.Conn. The
// functions below are never called.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func enableInq(uintptr) bool          { return false }
func (c *Conn) tryRead(uintptr) bool  { return true }
func (c *Conn) rawWrite(uintptr) bool { return true }

func (c *Conn) closeNet() error {
	c.cancelBudgetWait()
	return c.nc.Close()
}
