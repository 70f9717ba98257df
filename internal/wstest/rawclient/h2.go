package rawclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// WebSockets over HTTP/2 (RFC 8441) for the cases: H2Conn is one HTTP/2
// connection on which each Dial opens a WebSocket as a stream, by an
// extended CONNECT, with the same Conn the cases use over TCP.
//
// net/http's HTTP/2 client can send extended CONNECT, but
// Transport.RoundTrip and ClientConn.RoundTrip refuse the ":protocol"
// header before HTTP/2 sees it; the round tripper Transport.TLSNextProto
// ["h2"] returns for a TLS connection does not. H2Conn uses that, as core's
// Dial does, rather than bringing golang.org/x/net/http2 in.

// H2Conn is an HTTP/2 connection over TLS to a test server.
type H2Conn struct {
	tc   *tls.Conn
	rt   http.RoundTripper
	addr string

	mu      sync.Mutex
	streams []*stream
}

// DialH2 connects to the HTTPS server at addr (host:port) without
// checking its certificate, and fails unless it speaks HTTP/2.
func DialH2(addr string) (*H2Conn, error) {
	d := &net.Dialer{Timeout: handshakeTimeout}
	tc, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		return nil, fmt.Errorf("rawclient: dial HTTP/2: %w", err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		tc.Close()
		return nil, fmt.Errorf("rawclient: dial HTTP/2: server chose protocol %q, not h2", p)
	}
	t := &http.Transport{}
	t.CloseIdleConnections() // sets up the Transport's HTTP/2 client
	next := t.TLSNextProto["h2"]
	if next == nil {
		tc.Close()
		return nil, errors.New("rawclient: dial HTTP/2: net/http's HTTP/2 client is out of reach (Transport.TLSNextProto has no h2)")
	}
	return &H2Conn{tc: tc, rt: next(addr, tc), addr: addr}, nil
}

// Close closes the HTTP/2 connection and with it every stream.
func (h *H2Conn) Close() error {
	h.mu.Lock()
	streams := h.streams
	h.streams = nil
	h.mu.Unlock()
	for _, s := range streams {
		s.Close()
	}
	return h.tc.Close()
}

// Dial opens a WebSocket for path as a new stream (RFC 8441 §4): CONNECT
// with :protocol websocket and Sec-WebSocket-Version 13, and extraHeader
// added as Dial adds it over TCP. It fails unless the server answers 200;
// the response is returned whenever one came.
func (h *H2Conn) Dial(path string, extraHeader http.Header) (*Conn, *http.Response, error) {
	if path == "" {
		path = "/"
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, nil, fmt.Errorf("rawclient: extended CONNECT: %w", err)
	}
	u.Scheme, u.Host = "https", h.addr
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	req := (&http.Request{
		Method:        http.MethodConnect,
		URL:           u,
		Header:        http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"13"}},
		Body:          pr,
		ContentLength: -1,
		Host:          h.addr,
	}).WithContext(ctx)
	for k, v := range extraHeader {
		if k = http.CanonicalHeaderKey(k); k == "Host" {
			if len(v) > 0 {
				req.Host = v[0]
			}
			continue
		}
		req.Header[k] = v
	}
	timer := time.AfterFunc(handshakeTimeout, cancel)
	resp, err := h.rt.RoundTrip(req)
	timer.Stop()
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("rawclient: extended CONNECT: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		resp.Body.Close()
		return nil, resp, fmt.Errorf("rawclient: extended CONNECT: status %q, want 200", resp.Status)
	}
	s := &stream{body: resp.Body, pw: pw, cancel: cancel, tc: h.tc, chunks: make(chan []byte), done: make(chan struct{})}
	h.mu.Lock()
	h.streams = append(h.streams, s)
	h.mu.Unlock()
	go s.pump()
	return NewConn(s, nil, resp), resp, nil
}

// stream is an HTTP/2 stream as the net.Conn under a Conn. Reads come
// through a goroutine, so that a read deadline returns a timeout and
// leaves the stream usable, as on TCP, which the cases that wait for
// silence need. A write deadline that passes breaks the stream.
type stream struct {
	body   io.ReadCloser
	pw     *io.PipeWriter
	cancel context.CancelFunc
	tc     *tls.Conn

	chunks  chan []byte
	done    chan struct{}
	readErr error // set before chunks is closed
	rest    []byte

	mu        sync.Mutex
	rdeadline time.Time
	wtimer    *time.Timer
	closeOnce sync.Once
}

func (s *stream) pump() {
	defer close(s.chunks)
	buf := make([]byte, 32<<10)
	for {
		n, err := s.body.Read(buf)
		if n > 0 {
			select {
			case s.chunks <- bytes.Clone(buf[:n]):
			case <-s.done:
				return
			}
		}
		if err != nil {
			s.readErr = err
			return
		}
	}
}

func (s *stream) Read(p []byte) (int, error) {
	if len(s.rest) == 0 {
		s.mu.Lock()
		d := s.rdeadline
		s.mu.Unlock()
		var expired <-chan time.Time
		if !d.IsZero() {
			t := time.NewTimer(time.Until(d))
			defer t.Stop()
			expired = t.C
		}
		select {
		case b, ok := <-s.chunks:
			if !ok {
				return 0, s.readErr
			}
			s.rest = b
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-s.done:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

func (s *stream) Write(p []byte) (int, error) { return s.pw.Write(p) }

// Close resets the stream (RST_STREAM CANCEL), the HTTP/2 counterpart of
// closing a TCP connection without a closing handshake.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.cancel()
		s.pw.CloseWithError(net.ErrClosed)
		s.body.Close()
		s.mu.Lock()
		if s.wtimer != nil {
			s.wtimer.Stop()
		}
		s.mu.Unlock()
	})
	return nil
}

func (s *stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

func (s *stream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.rdeadline = t
	s.mu.Unlock()
	return nil
}

func (s *stream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wtimer != nil {
		s.wtimer.Stop()
		s.wtimer = nil
	}
	if !t.IsZero() {
		s.wtimer = time.AfterFunc(time.Until(t), func() { s.pw.CloseWithError(os.ErrDeadlineExceeded) })
	}
	return nil
}

func (s *stream) LocalAddr() net.Addr  { return s.tc.LocalAddr() }
func (s *stream) RemoteAddr() net.Addr { return s.tc.RemoteAddr() }
