//go:build !unix

package gws

// tryRead is never used where file descriptors cannot be read directly:
// NewConn leaves c.raw nil there and reads go through net.Conn.
func (c *Conn) tryRead(uintptr) bool { return true }
