package gws

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// WebSockets over HTTP/2 (RFC 8441), the server side. A browser that talks
// HTTP/2 to the server opens a WebSocket as a stream of that connection, by
// an extended CONNECT, when the server advertises
// SETTINGS_ENABLE_CONNECT_PROTOCOL; Go's server does since Go 1.24 with
// GODEBUG=http2xconnect=1. Such a stream cannot be hijacked: the
// connection reads the request body and writes the ResponseWriter, and
// everything above the bytes (frames, events, queues, compression) is the
// same as over TCP, on the portable path that net.Conns without a file
// descriptor take.

// isExtendedConnect reports whether r opens a WebSocket as an HTTP/2
// stream. net/http hands the :protocol pseudo-header over in r.Header,
// under its own name.
func isExtendedConnect(r *http.Request) bool {
	return r.Method == http.MethodConnect && r.Header.Get(":protocol") == "websocket"
}

// errNotExtendedConnect: an HTTP/2 request other than RFC 8441's.
var errNotExtendedConnect = errors.New("HTTP/2 request is not an extended CONNECT for websocket")

// checkStreamRequest checks what RFC 8441 §4 asks of an HTTP/2 request
// beyond the version: CONNECT with the :protocol websocket. An HTTP/2 GET
// is what a client sends when the server does not advertise extended
// CONNECT (GODEBUG=http2xconnect=1 unset) and it tried HTTP/2 anyway; the
// answer says so rather than leaving it to guess.
func checkStreamRequest(r *http.Request) error {
	if r.Method != http.MethodConnect {
		return reject(http.StatusBadRequest, errNotExtendedConnect, "websocket: over HTTP/2 a WebSocket opens with an extended CONNECT (RFC 8441); send it over HTTP/1.1, or enable extended CONNECT on the server")
	}
	if p := r.Header.Get(":protocol"); p != "websocket" {
		return reject(http.StatusBadRequest, errNotExtendedConnect, "websocket: extended CONNECT ':protocol' must be websocket")
	}
	return nil
}

// serveStream runs the connection of an accepted RFC 8441 handshake on
// the request's HTTP/2 stream. It answers 200, delivers the events and
// returns once the connection has ended, since net/http ends the stream
// when the handler returns.
func (u *Upgrader) serveStream(ctx context.Context, w http.ResponseWriter, resp *Response, h EventHandler) (*Conn, error) {
	r := resp.req.Request
	rc := http.NewResponseController(w)
	// http.Server's ReadTimeout and WriteTimeout bound a request; a
	// WebSocket outlives them. gws sets its own write deadlines.
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	s := &serverStream{body: r.Body, w: w, rc: rc, tls: r.TLS}
	s.remote = addrOf(r.RemoteAddr)
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		s.local = a
	}
	c, err := u.accept(s, nil, resp, h, func(c *Conn) error {
		c.setWriteDeadline()
		hdr := w.Header()
		if o := u.ServerOptions; o != nil {
			// Checked by negotiate, as the 101's lines are.
			for k, vs := range o.ResponseHeader {
				hdr[http.CanonicalHeaderKey(k)] = vs
			}
		}
		if resp.SubProtocol != "" {
			hdr["Sec-Websocket-Protocol"] = []string{resp.SubProtocol}
		}
		if resp.extension != "" {
			hdr["Sec-Websocket-Extensions"] = []string{resp.extension}
		}
		w.WriteHeader(http.StatusOK)
		return rc.Flush()
	})
	if err != nil {
		return nil, err
	}
	// The handler's goroutine has to wait for the end anyway: the events
	// run on it rather than on one more goroutine (4.5 KB less per idle
	// stream, measured by gwshttp's TestIdleMemoryH2).
	defer func() {
		if p := recover(); p != nil {
			// An event handler panicked. net/http would recover it and
			// reset the stream, leaving the connection counted for ever;
			// over TCP the same panic ends the program, and so it does
			// here, out of net/http's reach.
			go panic(p)
			select {}
		}
	}()
	c.begin(ctx)
	c.readLoop()
	return c, nil
}

// addrOf parses a request's RemoteAddr, "ip:port".
func addrOf(s string) net.Addr {
	ap, _ := netip.ParseAddrPort(s)
	return net.TCPAddrFromAddrPort(ap)
}

// serverStream is the server's side of an HTTP/2 stream as a net.Conn: it
// reads the request body and writes the response, flushed per write so
// that each frame goes out at once. Its deadlines are the stream's
// (http.ResponseController's), and a deadline that passes resets the
// stream: unlike a socket's, it cannot be recovered from, which gws never
// needs. Close resets the stream (RST_STREAM), for a connection dropped
// without a closing handshake; after end the handler's return ends the
// stream cleanly (END_STREAM).
type serverStream struct {
	body   interface{ Read([]byte) (int, error) }
	w      http.ResponseWriter
	rc     *http.ResponseController
	tls    *tls.ConnectionState
	local  net.Addr
	remote net.Addr

	// mu is held for reading by every use of w and rc, and for writing
	// when the stream ends: net/http forbids touching them once the
	// handler has returned, which it does once the connection has ended.
	mu     sync.RWMutex
	ended  bool
	closed atomic.Bool
}

func (s *serverStream) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	if err != nil && s.closed.Load() {
		err = net.ErrClosed
	}
	return n, err
}

func (s *serverStream) Write(p []byte) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ended {
		return 0, net.ErrClosed
	}
	n, err := s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}

// Close resets the stream, which wakes a Read or Write in progress.
func (s *serverStream) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.mu.RLock()
		if !s.ended {
			// A deadline in the past resets the stream at once.
			s.rc.SetWriteDeadline(time.Unix(1, 0))
		}
		s.mu.RUnlock()
	}
	s.finish()
	return nil
}

// end marks the stream finished after a closing handshake; when the
// handler returns, net/http ends it with END_STREAM.
func (s *serverStream) end() {
	s.closed.Store(true)
	s.finish()
}

// finish waits for every use of w and rc to return and forbids more, so
// that the handler may return: every way out of the read loop calls it.
func (s *serverStream) finish() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
}

func (s *serverStream) SetDeadline(t time.Time) error {
	if err := s.SetReadDeadline(t); err != nil {
		return err
	}
	return s.SetWriteDeadline(t)
}

func (s *serverStream) SetReadDeadline(t time.Time) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ended {
		return net.ErrClosed
	}
	return s.rc.SetReadDeadline(t)
}

func (s *serverStream) SetWriteDeadline(t time.Time) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ended {
		return net.ErrClosed
	}
	return s.rc.SetWriteDeadline(t)
}

func (s *serverStream) LocalAddr() net.Addr  { return s.local }
func (s *serverStream) RemoteAddr() net.Addr { return s.remote }

// ConnectionState returns the TLS state of the HTTP/2 connection, as
// *tls.Conn does, for handlers that look at Conn.NetConn.
func (s *serverStream) ConnectionState() tls.ConnectionState {
	if s.tls == nil {
		return tls.ConnectionState{}
	}
	return *s.tls
}

// streamEnder is a stream that can end cleanly, as opposed to Close's
// reset.
type streamEnder interface{ end() }
