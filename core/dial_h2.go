package gws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// WebSockets over HTTP/2 (RFC 8441), the client side, with
// ClientOptions.HTTP2.
//
// net/http's HTTP/2 client sends extended CONNECT, and waits for the
// server's first SETTINGS to see whether it may, but its public entry
// points (Transport.RoundTrip, ClientConn.RoundTrip) refuse the
// ":protocol" header the request needs: they check every header name
// before HTTP/2 sees the request. The round tripper that
// Transport.TLSNextProto["h2"] returns for a TLS connection, which the
// Transport fills in for itself, takes the request as it is. That is how
// Dial reaches it, with a Transport of its own per connection. Should a
// Go release stop filling TLSNextProto, Dial falls back to HTTP/1.1, and
// TestDialHTTP2 fails.

// errNoExtendedConnect: the server spoke HTTP/2 but did not advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL (or Go's HTTP/2 client was out of
// reach); Dial retries over HTTP/1.1.
var errNoExtendedConnect = errors.New("server does not accept WebSockets over HTTP/2")

// extendedConnectRefused is the text of net/http's unexported error for a
// server that did not advertise extended CONNECT in its first SETTINGS.
const extendedConnectRefused = "extended connect not supported by peer"

// openStream performs the RFC 8441 handshake on tc, a TLS connection
// whose ALPN chose h2, and returns the stream as a net.Conn.
func openStream(ctx context.Context, tc *tls.Conn, req *http.Request, cfg *config) (net.Conn, *http.Response, *deflateParams, error) {
	t := &http.Transport{}
	// CloseIdleConnections is the one call that makes the Transport set up
	// its HTTP/2 client without sending a request.
	t.CloseIdleConnections()
	next := t.TLSNextProto["h2"]
	if next == nil {
		return nil, nil, nil, errNoExtendedConnect
	}
	rt := next(req.URL.Host, tc)

	pr, pw := io.Pipe()
	// The stream lives as long as its request's context: not ctx, which
	// bounds the handshake (its end sets a deadline on the socket).
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sreq := (&http.Request{
		Method:        http.MethodConnect,
		URL:           req.URL,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        make(http.Header, len(req.Header)),
		Body:          pr,
		ContentLength: -1,
		Host:          req.Host,
	}).WithContext(sctx)
	for k, vs := range req.Header {
		switch k {
		case "Upgrade", "Connection", "Sec-Websocket-Key":
		default:
			sreq.Header[k] = vs
		}
	}
	sreq.Header[":protocol"] = []string{"websocket"}
	resp, err := rt.RoundTrip(sreq)
	if err != nil {
		cancel()
		pw.Close()
		if strings.Contains(err.Error(), extendedConnectRefused) {
			return nil, nil, nil, errNoExtendedConnect
		}
		return nil, nil, nil, fmt.Errorf("HTTP/2 extended CONNECT: %w", err)
	}
	resp, deflate, err := checkHandshakeResponse(resp, req, "", cfg)
	if err != nil {
		cancel()
		pw.Close()
		return nil, resp, nil, err
	}
	s := &clientStream{body: resp.Body, pw: pw, tc: tc, cancel: cancel}
	return s, resp, deflate, nil
}

// clientStream is the client's side of an HTTP/2 stream as a net.Conn: it
// writes the request body and reads the response body, and owns the
// HTTP/2 connection under them. Deadlines are timers: one that passes
// resets the stream, as on the server side, which gws never needs to
// recover from. Close resets the stream; end half-closes it
// (END_STREAM) and waits briefly for the server's end.
type clientStream struct {
	body   io.ReadCloser
	pw     *io.PipeWriter
	tc     *tls.Conn
	cancel context.CancelFunc

	mu       sync.Mutex
	rtimer   *time.Timer
	wtimer   *time.Timer
	timedOut atomic.Bool
	closed   atomic.Bool
}

func (s *clientStream) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	if err != nil {
		err = s.cause(err)
	}
	return n, err
}

func (s *clientStream) Write(p []byte) (int, error) {
	n, err := s.pw.Write(p)
	if err != nil {
		err = s.cause(err)
	}
	return n, err
}

// cause names why the stream failed when gws brought it down.
func (s *clientStream) cause(err error) error {
	switch {
	case s.timedOut.Load():
		return fmt.Errorf("%w (%v)", os.ErrDeadlineExceeded, err)
	case s.closed.Load():
		return net.ErrClosed
	}
	return err
}

// Close resets the stream and closes the connection.
func (s *clientStream) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.stopTimers()
	s.cancel()
	s.pw.CloseWithError(net.ErrClosed)
	s.body.Close()
	return s.tc.Close()
}

// endWait bounds how long end waits for the server to end its side.
const endWait = time.Second

// end half-closes the stream after a closing handshake, waits up to
// endWait for the server's END_STREAM, and closes the connection.
func (s *clientStream) end() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.stopTimers()
	s.pw.Close()
	t := time.AfterFunc(endWait, func() { s.body.Close() })
	io.Copy(io.Discard, s.body)
	t.Stop()
	s.cancel()
	s.body.Close()
	s.tc.Close()
}

func (s *clientStream) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range []*time.Timer{s.rtimer, s.wtimer} {
		if t != nil {
			t.Stop()
		}
	}
}

// expire brings the stream down when a deadline passes.
func (s *clientStream) expire() {
	s.timedOut.Store(true)
	s.cancel()
	s.pw.CloseWithError(os.ErrDeadlineExceeded)
	s.body.Close()
}

// arm sets *timer to fire at t, or stops it for the zero time.
func (s *clientStream) arm(timer **time.Timer, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return net.ErrClosed
	}
	switch {
	case t.IsZero():
		if *timer != nil {
			(*timer).Stop()
		}
	case *timer == nil:
		*timer = time.AfterFunc(time.Until(t), s.expire)
	default:
		(*timer).Reset(time.Until(t))
	}
	return nil
}

func (s *clientStream) SetDeadline(t time.Time) error {
	if err := s.SetReadDeadline(t); err != nil {
		return err
	}
	return s.SetWriteDeadline(t)
}

func (s *clientStream) SetReadDeadline(t time.Time) error  { return s.arm(&s.rtimer, t) }
func (s *clientStream) SetWriteDeadline(t time.Time) error { return s.arm(&s.wtimer, t) }

func (s *clientStream) LocalAddr() net.Addr  { return s.tc.LocalAddr() }
func (s *clientStream) RemoteAddr() net.Addr { return s.tc.RemoteAddr() }

// ConnectionState returns the TLS state of the HTTP/2 connection.
func (s *clientStream) ConnectionState() tls.ConnectionState { return s.tc.ConnectionState() }
