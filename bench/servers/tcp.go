package servers

import (
	"net"

	"github.com/gwsgo/gws/bench/internal/wire"
)

func init() {
	register(Library{Name: "tcp", Title: "TCP echo (floor)", Serve: serveTCP, CanBroadcast: true})
}

// serveTCP echoes raw bytes with no framing at all, making the fewest
// system calls a server can make on loopback: per batch of bytes one read
// and one write, and no read that finds the socket empty (echoTCP). It is
// the floor the WebSocket servers are compared with, and the check that
// the load generator is not the bottleneck. Broadcasting, it writes
// whatever bytes one connection sends to every connection, after welcoming
// each with the same frame the WebSocket servers send.
func serveTCP(ln net.Listener, o Options) error {
	var conns hub[*lockedConn]
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		if !o.Broadcast {
			go func() {
				defer c.Close()
				echoTCP(c.(*net.TCPConn))
			}()
			continue
		}
		go func() {
			defer c.Close()
			lc := &lockedConn{Conn: c}
			conns.add(lc)
			defer conns.remove(lc)
			if lc.send(wire.WelcomeFrame) != nil {
				return
			}
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					conns.each(func(to *lockedConn) { _ = to.send(buf[:n]) })
				}
				if err != nil {
					return
				}
			}
		}()
	}
}
