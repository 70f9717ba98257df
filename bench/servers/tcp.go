package servers

import (
	"net"
	"sync"

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
// each with the same frame the WebSocket servers send, and each
// connection's writer sends all that has piled up for it in one write
// (batchConn).
func serveTCP(ln net.Listener, o Options) error {
	var conns hub[*batchConn]
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
			bc := &batchConn{Conn: c}
			bc.send(wire.WelcomeFrame)
			conns.add(bc)
			defer conns.remove(bc)
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					conns.each(func(to *batchConn) { to.send(buf[:n]) })
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// batchConn gathers the bytes sent to a connection while its writer
// goroutine is busy, and the writer sends all of them in one write: one
// system call per connection per batch, however many broadcasts it holds.
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte
	spare   []byte
	running bool // a writer goroutine is on its way
	failed  bool // a write failed: drop whatever comes
}

func (c *batchConn) send(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed {
		return
	}
	c.pending = append(c.pending, b...)
	if !c.running {
		c.running = true
		go c.flush()
	}
}

func (c *batchConn) flush() {
	for {
		c.mu.Lock()
		out := c.pending
		if len(out) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.pending, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		_, err := c.Write(out)
		c.mu.Lock()
		c.spare = out[:0]
		if err != nil {
			c.failed, c.running, c.pending = true, false, nil
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}
