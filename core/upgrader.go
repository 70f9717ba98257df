package gws

import (
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// EventHandler receives a connection's events. For each connection OnOpen is
// called once, before any other event, and OnClose once, last; in between
// the events of one connection come one at a time, in order, on the
// goroutine running ReadLoop.
type EventHandler interface {
	// OnOpen is called when the connection is ready.
	OnOpen(socket *Conn)
	// OnClose is called when the connection has ended, with the close code
	// and reason the peer sent, the code gws sent when it failed the
	// connection, or CloseAbnormal (1006) when TCP ended without a close
	// frame.
	OnClose(socket *Conn, code Code, reason []byte)
	// OnMessage is called for every complete text or binary message, after
	// the middleware. Call m.Close when done with it.
	OnMessage(socket *Conn, m *Message)
	// OnError is called for a protocol violation or an I/O error, before
	// OnClose.
	OnError(socket *Conn, err error)
	// OnPing is called for every ping, after gws has answered it with a pong
	// carrying the same payload. m is valid only during the call.
	OnPing(socket *Conn, m []byte)
	// OnPong is called for every pong. m is valid only during the call.
	OnPong(socket *Conn, m []byte)
}

// Upgrader turns HTTP requests into WebSocket connections. Its zero value
// uses the default options and the same-origin check. Configure it before
// first use; it is safe for concurrent use afterwards.
type Upgrader struct {
	// ServerOptions configures the handshake and the connections; nil means
	// the defaults documented on ServerOptions.
	ServerOptions *ServerOptions

	// CheckOrigin decides whether to accept a request, and may put values
	// in r.Storage for the connection. nil means the same-origin check: a
	// request without an Origin header, or whose Origin host equals its
	// Host, is accepted.
	CheckOrigin func(r *Request) bool

	once        sync.Once
	opts        *ServerOptions
	middlewares []HandlerFunc
}

// Use appends middleware to the chain every message goes through before
// OnMessage. Call it before serving.
func (u *Upgrader) Use(middlewares ...HandlerFunc) {
	u.middlewares = append(u.middlewares, middlewares...)
}

func (u *Upgrader) options() *ServerOptions {
	u.once.Do(func() { u.opts = u.ServerOptions.withDefaults() })
	return u.opts
}

// NewConn makes the server side of a connection whose handshake resp was
// accepted for r and whose 101 response has already been written on nc, for
// adapters whose server writes the response itself (fasthttp). buffered
// holds any bytes the HTTP server had already read past the request; they
// are read before nc. Events start when the caller runs ReadLoop.
func (u *Upgrader) NewConn(nc net.Conn, buffered []byte, r *Request, resp *Response, h EventHandler) *Conn {
	opts := u.options()
	parent := context.Background()
	if r != nil && r.Request != nil {
		// Keep the request's values (auth, tracing) but not its
		// cancellation, which net/http fires when the handler returns.
		parent = context.WithoutCancel(r.Context())
	}
	ctx, cancel := context.WithCancel(parent)
	c := &Conn{
		Context: ctx,
		cancel:  cancel,
		nc:      nc,
		server:  true,
		up:      u,
		opts:    opts,
		handler: h,
	}
	if r != nil {
		c.Storage = r.Storage
	}
	if c.Storage == nil {
		c.Storage = NewStorage()
	}
	if resp != nil {
		c.subProtocol = resp.SubProtocol
		c.deflate = resp.deflate
	}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.readyFn = c.tryRead
		}
	}
	if len(buffered) > 0 {
		c.takeBuffer(len(buffered))
		c.rend = copy(*c.rbuf, buffered)
	}
	return c
}

// Accept completes an upgrade on a connection taken over from the HTTP
// server (hijacked): it writes the 101 response within
// ServerOptions.HandshakeTimeout and returns the connection, ready for
// ReadLoop. On error nc is closed.
func (u *Upgrader) Accept(nc net.Conn, buffered []byte, r *Request, resp *Response, h EventHandler) (*Conn, error) {
	nc.SetWriteDeadline(time.Now().Add(u.options().HandshakeTimeout))
	if _, err := resp.WriteTo(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("gws: writing handshake response: %w", err)
	}
	nc.SetWriteDeadline(time.Time{})
	return u.NewConn(nc, buffered, r, resp, h), nil
}
