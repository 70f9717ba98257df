//go:build !unix

package gws

// tryRead, tryWrite and writeAll are never used where file descriptors cannot be
// used directly: NewConn leaves c.raw nil there and all I/O goes through
// net.Conn.
func (c *Conn) tryRead(uintptr) bool  { return true }
func (c *Conn) tryWrite(uintptr) bool { return true }
func (c *Conn) writeAll(uintptr) bool { return true }

func (c *Conn) closeNet() error { return c.nc.Close() }
