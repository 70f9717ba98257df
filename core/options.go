package gws

import (
	"compress/flate"
	"log/slog"
	"net/http"
	"time"
)

// Defaults applied to zero-valued ServerOptions fields.
const (
	DefaultReadMaxPayloadSize = 16 << 20
	DefaultReadBufferSize     = 4 << 10
	DefaultHandshakeTimeout   = 5 * time.Second
	DefaultWriteTimeout       = 10 * time.Second
	DefaultCloseTimeout       = 5 * time.Second
	DefaultCompressThreshold  = 512
)

// ServerOptions configures an Upgrader and the connections it makes. Every
// field's zero value means the default given in its comment, so a nil
// *ServerOptions or an empty literal is a safe, standard configuration.
type ServerOptions struct {
	// LogEnabled logs rejected handshakes and connection errors through
	// Logger. Off by default.
	LogEnabled bool

	// Logger receives the logs when LogEnabled is set; nil means
	// slog.Default().
	Logger *slog.Logger

	// CompressEnabled accepts permessage-deflate (RFC 7692) from clients
	// that offer it. Off by default.
	CompressEnabled bool

	// CompressLevel is the compress/flate level, 1 (BestSpeed) to 9
	// (BestCompression); 0 means 1. A client that asks for a window under
	// 32 KiB (server_max_window_bits < 15) gets flate.HuffmanOnly instead,
	// the one mode of compress/flate whose output fits any window.
	CompressLevel int

	// CompressThreshold is the smallest message, in bytes, that gws
	// compresses; smaller ones go out uncompressed, where deflate would
	// cost more than it saves. Default 512.
	CompressThreshold int

	// ServerContextTakeover keeps gws's compression history from one
	// message to the next, so repeated content compresses better. It costs
	// a flate writer of its own per connection (about 600 KiB, held while
	// the connection lives); off by default, when writers are pooled and
	// shared, and gws answers server_no_context_takeover.
	ServerContextTakeover bool

	// ClientContextTakeover lets clients keep their compression history
	// between messages, which costs gws a window of up to 32 KiB per
	// connection to decompress with. Off by default: gws answers
	// client_no_context_takeover, so each message inflates alone.
	ClientContextTakeover bool

	// ReadMaxPayloadSize is the largest message, in bytes, a peer may send;
	// a larger one fails the connection with close code 1009 before any of
	// it is buffered. Default 16 MiB.
	ReadMaxPayloadSize int

	// ReadBufferSize is the size of the buffer a connection borrows from the
	// pool while bytes are arriving; an idle connection holds none. Frames
	// larger than it are read straight into the message. Default 4 KiB.
	ReadBufferSize int

	// HandshakeTimeout bounds the writing of the handshake response.
	// Default 5 s. Bound the reading of the request with the HTTP server's
	// own ReadHeaderTimeout.
	HandshakeTimeout time.Duration

	// WriteTimeout bounds every frame write, so a peer that stops reading
	// cannot block a writer forever; a write that times out fails the
	// connection. Default 10 s; negative means no limit.
	WriteTimeout time.Duration

	// CloseTimeout is how long to wait for the peer's answer after sending a
	// close frame before dropping the TCP connection. Default 5 s.
	CloseTimeout time.Duration

	// SubProtocols lists the subprotocols the server speaks, in order of
	// preference: the first one the client also offers is chosen.
	SubProtocols []string

	// ResponseHeader holds extra headers for the 101 response. Names and
	// values containing CR or LF are refused at handshake time.
	ResponseHeader http.Header

	// ParallelEnabled hands each connection's messages to a bounded queue
	// served by up to ParallelLimit goroutines, so one slow message does not
	// hold up the next; messages of a connection may then be handled out of
	// order and concurrently. Off by default: messages are handled one after
	// another, in order, on the connection's read goroutine.
	ParallelEnabled bool

	// ParallelLimit is the most goroutines handling one connection's
	// messages at once with ParallelEnabled. Default 8.
	ParallelLimit int

	// ParallelQueueSize is how many messages of one connection may wait for
	// a handler; when the queue is full the connection stops reading, and
	// TCP flow control slows the peer down. Default 64.
	ParallelQueueSize int

	// Concurrency caps the goroutines handling messages across all the
	// Upgrader's connections with ParallelEnabled; a reader whose
	// connection needs a handler waits for a free one. 0 means no cap
	// beyond ParallelLimit per connection.
	Concurrency int

	// WriteQueueMessages and WriteQueueBytes bound each connection's
	// WriteAsync queue. Defaults 256 messages and 1 MiB.
	WriteQueueMessages int
	WriteQueueBytes    int

	// SlowConsumer says what WriteAsync does when a connection's queue is
	// full because the peer reads slower than the server writes. Default
	// SlowDrop.
	SlowConsumer SlowConsumerPolicy

	// SlowBlockTimeout is how long SlowBlock waits for room in the queue
	// before giving up with ErrWriteQueueFull. Default 5 s.
	SlowBlockTimeout time.Duration

	// SlowCloseCode is the close code SlowClose sends. Default 1008
	// (policy violation).
	SlowCloseCode Code

	// PingInterval turns on the heartbeat: gws pings every connection this
	// often, from one shared timer for all of them, and drops one that has
	// sent nothing (no pong, no message) for PingTimeout after a ping. 0
	// (the default) leaves heartbeats to the application.
	PingInterval time.Duration

	// PingTimeout is how long after a ping a silent connection is dropped.
	// Default: PingInterval.
	PingTimeout time.Duration

	// SkipUTF8Validation turns off the check that text messages and close
	// reasons are valid UTF-8. The check is on by default, as RFC 6455
	// requires.
	SkipUTF8Validation bool
}

// withDefaults returns a copy of o with zero fields replaced by defaults.
func (o *ServerOptions) withDefaults() *ServerOptions {
	var c ServerOptions
	if o != nil {
		c = *o
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ReadMaxPayloadSize <= 0 {
		c.ReadMaxPayloadSize = DefaultReadMaxPayloadSize
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = DefaultReadBufferSize
	}
	if c.ReadBufferSize < 256 {
		c.ReadBufferSize = 256
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CompressLevel < flate.BestSpeed || c.CompressLevel > flate.BestCompression {
		c.CompressLevel = flate.BestSpeed
	}
	if c.CompressThreshold <= 0 {
		c.CompressThreshold = DefaultCompressThreshold
	}
	if c.ParallelLimit <= 0 {
		c.ParallelLimit = 8
	}
	if c.ParallelQueueSize <= 0 {
		c.ParallelQueueSize = 64
	}
	if c.WriteQueueMessages <= 0 {
		c.WriteQueueMessages = 256
	}
	if c.WriteQueueBytes <= 0 {
		c.WriteQueueBytes = 1 << 20
	}
	if c.SlowBlockTimeout <= 0 {
		c.SlowBlockTimeout = 5 * time.Second
	}
	if c.SlowCloseCode == 0 {
		c.SlowCloseCode = ClosePolicyViolation
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = c.PingInterval
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	return &c
}

// SlowConsumerPolicy is what WriteAsync does when a connection's write
// queue is full.
type SlowConsumerPolicy int

const (
	// SlowDrop drops the message: its callback gets ErrWriteQueueFull and
	// the Upgrader's Stats count it. The writer never waits.
	SlowDrop SlowConsumerPolicy = iota
	// SlowBlock makes the writer wait for room, up to SlowBlockTimeout,
	// then fail with ErrWriteQueueFull.
	SlowBlock
	// SlowClose closes the connection with SlowCloseCode; the Upgrader's
	// Stats count it.
	SlowClose
)
