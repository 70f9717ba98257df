//go:build !unix

package gwsfasthttp

import (
	"net"
	"os"
)

// dupConn returns a connection over a duplicate of nc's socket, which
// fasthttp's Close does not affect, or nil when nc has none or the
// system cannot make a net.Conn from one (Windows).
func dupConn(nc net.Conn) net.Conn {
	fc, ok := nc.(interface{ File() (*os.File, error) })
	if !ok {
		return nil
	}
	f, err := fc.File()
	if err != nil {
		return nil
	}
	defer f.Close()
	own, err := net.FileConn(f)
	if err != nil {
		return nil
	}
	return own
}
