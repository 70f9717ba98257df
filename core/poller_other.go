//go:build !linux

package gws

import "net"

// poller and pollConn exist on Linux only (poller_linux.go); elsewhere
// ServerOptions.Poller falls back to goroutine mode, which config says
// in the log once per Upgrader.
type (
	poller   struct{}
	pollConn struct{}
)

const pollerSupported = false

func (c *Conn) takeOver()                                  {}
func (c *Conn) startPolled() bool                          { return false }
func (c *Conn) pollWake()                                  {}
func (c *Conn) abandonPolled()                             {}
func (c *Conn) writeBuffers(v *net.Buffers) (int64, error) { return v.WriteTo(c.nc) }
func (q *writeQueue) bindWritev()                          {}

func (pc *pollConn) writeLoop(func(fd uintptr) bool) error { return nil }
