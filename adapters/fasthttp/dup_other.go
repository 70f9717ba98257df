//go:build !unix

package gwsfasthttp

import (
	"net"
	"os"
)

// dupFile returns a duplicate of nc's socket as an *os.File, or nil when
// nc has none.
func dupFile(nc net.Conn) *os.File {
	fc, ok := nc.(interface{ File() (*os.File, error) })
	if !ok {
		return nil
	}
	f, err := fc.File()
	if err != nil {
		return nil
	}
	return f
}
