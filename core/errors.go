package gws

import (
	"errors"
	"fmt"
)

// Errors a caller may test for with errors.Is.
var (
	// ErrConnClosed is returned by writes after the connection has been
	// closed or a close frame has been sent.
	ErrConnClosed = errors.New("gws: connection closed")

	// ErrProtocol wraps every violation of RFC 6455 by the peer; the
	// connection is then failed with close code 1002.
	ErrProtocol = errors.New("gws: protocol error")

	// ErrInvalidUTF8 is reported when a text message or close reason is not
	// valid UTF-8; the connection is failed with close code 1007.
	ErrInvalidUTF8 = errors.New("gws: invalid UTF-8")

	// ErrMessageTooBig is reported when a message exceeds
	// ServerOptions.ReadMaxPayloadSize; the connection is failed with close
	// code 1009.
	ErrMessageTooBig = errors.New("gws: message too big")

	// ErrWriteQueueFull is given to WriteAsync callbacks when a message did
	// not fit in the connection's write queue (see SlowConsumerPolicy).
	ErrWriteQueueFull = errors.New("gws: write queue full")

	// ErrSlowConsumer is reported by OnError when a connection was closed
	// because its write queue overflowed under SlowClose.
	ErrSlowConsumer = errors.New("gws: peer reads too slowly")

	// ErrHeartbeatTimeout is reported by OnError when a connection sent
	// nothing for PingTimeout after a heartbeat ping.
	ErrHeartbeatTimeout = errors.New("gws: no answer to heartbeat ping")

	// ErrShuttingDown rejects handshakes after Upgrader.Shutdown began.
	ErrShuttingDown = errors.New("gws: server shutting down")

	// ErrControlTooBig is returned when a ping, pong or close payload would
	// exceed the 125 bytes RFC 6455 allows.
	ErrControlTooBig = errors.New("gws: control frame payload over 125 bytes")
)

// CloseError is the error a connection ends with when it was failed, or
// closed by a close frame; Code is the close code sent or received.
type CloseError struct {
	Code   Code
	Reason string
	Err    error // the cause, for errors.Is: ErrProtocol, ErrInvalidUTF8, …
}

func (e *CloseError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("gws: close %d: %v", e.Code, e.Err)
	}
	return fmt.Sprintf("gws: close %d %s", e.Code, e.Reason)
}

func (e *CloseError) Unwrap() error { return e.Err }

// protocolError builds the error that fails a connection with code.
func protocolError(code Code, cause error, format string, args ...any) *CloseError {
	msg := fmt.Sprintf(format, args...)
	return &CloseError{Code: code, Reason: msg, Err: fmt.Errorf("%w: %s", cause, msg)}
}
