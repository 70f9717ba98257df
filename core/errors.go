package gws

import (
	"errors"
	"fmt"
	"net"
	"net/http"
)

// ErrWriteQueueFull is given to WriteAsync callbacks and returned by
// Broadcast when a message did not fit in the connection's write queue
// (see SlowConsumerPolicy).
var ErrWriteQueueFull = errors.New("gws: write queue full")

// errClosed is returned by writes after the connection has ended or a
// close frame has been sent; it wraps net.ErrClosed, as net.Conn's own
// writes do.
var errClosed = fmt.Errorf("gws: connection closed: %w", net.ErrClosed)

// errControlTooBig is returned for a ping, pong or close payload over the
// 125 bytes RFC 6455 allows.
var errControlTooBig = errors.New("gws: control frame payload over 125 bytes")

// HandshakeError is an opening handshake that did not succeed, on either
// side. On a server, from Negotiate, Upgrade and UpgradeRequest, it says
// how the request was answered: StatusCode 400, 403, 405, 426, 500 or 503,
// Header, and Reason as the body. From Dial, it is the server's answer that
// did not complete the handshake: its StatusCode and Header, and Reason
// says what was wrong.
type HandshakeError struct {
	StatusCode int
	Reason     string
	Header     http.Header
	Err        error // the cause, for errors.Is
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("gws: handshake failed (%d %s): %s", e.StatusCode, http.StatusText(e.StatusCode), e.Reason)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// reject builds a server's answer to a request it does not upgrade: a
// plain-text body of one line.
func reject(status int, err error, reason string) *HandshakeError {
	return &HandshakeError{StatusCode: status, Reason: reason, Err: err, Header: http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}}
}

// writeResponse answers the rejected request on w.
func (e *HandshakeError) writeResponse(w http.ResponseWriter) {
	for k, v := range e.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(e.StatusCode)
	w.Write([]byte(e.Reason + "\n"))
}
