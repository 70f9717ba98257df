package servers

import (
	"net"
)

func init() {
	register(Library{Name: "tcp", Title: "TCP echo (floor)", Serve: serveTCP})
}

// serveTCP echoes raw bytes with no framing at all: one read and one write
// per batch of bytes is the least any server can do on loopback, so it is the
// floor the WebSocket servers are compared with, and the check that the load
// generator is not the bottleneck.
func serveTCP(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			// As large as the biggest message the scenarios send, so that
			// one read and one write move a whole message.
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}
