package servers

import (
	"net"

	"github.com/gwsgo/gws/bench/internal/wire"
)

func init() {
	register(Library{Name: "tcp", Title: "TCP echo (floor)", Serve: serveTCP, CanBroadcast: true})
}

// serveTCP echoes raw bytes with no framing at all: one read and one write
// per batch of bytes is the least any server can do on loopback, so it is the
// floor the WebSocket servers are compared with, and the check that the load
// generator is not the bottleneck. Broadcasting, it writes whatever bytes
// one connection sends to every connection, after welcoming each with the
// same frame the WebSocket servers send.
func serveTCP(ln net.Listener, o Options) error {
	var conns hub[*lockedConn]
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			var lc *lockedConn
			if o.Broadcast {
				lc = &lockedConn{Conn: c}
				conns.add(lc)
				defer conns.remove(lc)
				if lc.send(wire.WelcomeFrame) != nil {
					return
				}
			}
			// As large as the biggest message the scenarios send, so that
			// one read and one write move a whole message.
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					var werr error
					if o.Broadcast {
						conns.each(func(to *lockedConn) { _ = to.send(buf[:n]) })
					} else {
						_, werr = c.Write(buf[:n])
					}
					if werr != nil {
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
