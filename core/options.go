package gws

import (
	"cmp"
	"compress/flate"
	"context"
	"crypto/tls"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
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

	// CompressCodec is the DEFLATE implementation; nil means
	// compress/flate. See Codec.
	CompressCodec Codec

	// ServerContextTakeover keeps the server's compression history from one
	// message to the next, so repeated content compresses better. It costs
	// a flate writer of the connection's own (about 600 KiB, held while the
	// connection lives). Off by default: writers are pooled and shared, and
	// gws answers server_no_context_takeover.
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

	// WriteTimeout bounds every write, the 101 response and each frame, so
	// a peer that stops reading cannot block a writer forever; a frame
	// write that times out fails the connection. Default 10 s; negative
	// means no limit.
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

	// Poller parks connections that wait for data in an epoll set (Linux)
	// instead of on a goroutine each: an idle connection then holds no
	// goroutine and no read buffer, and gws takes its socket's descriptor
	// over, so the runtime's poller holds nothing for it either: an idle
	// connection costs about a quarter of the memory it does in goroutine
	// mode (BENCHMARKS.md has the figures), more when the request's
	// context holds values of the application's, since Conn.Context keeps
	// them. Connections with data are served by a pool of
	// goroutines the Upgrader's connections share, one goroutine at a
	// time per connection and in order: events, middleware, options,
	// deadlines and Shutdown behave as in goroutine mode. A handler that
	// blocks holds up its own connection only: the pool grows by one
	// goroutine whenever every one is busy, up to 10,000 (past that,
	// connections with data wait for one), and shrinks once the work is
	// done. Connections without a TCP socket of their own (TLS) run in
	// goroutine mode. In poller mode Conn.NetConn returns gws's own
	// net.Conn over the socket, not a *net.TCPConn. Off by default; on
	// systems other than Linux it is ignored, with a warning in the log.
	Poller bool

	// MemoryBudget bounds, in bytes, what the Upgrader's connections hold
	// together in messages being received (from the first frame until
	// OnMessage returns), in messages being decompressed, and in write
	// queues. A connection whose next frame would take the total past it
	// stops being read, so TCP makes its peer wait, and goes on once others
	// have given bytes back, oldest message first. Messages that began first
	// finish first: when the oldest waiting message cannot grow, connections
	// waiting with younger messages give way, closed with 1013 (try again
	// later) at once, and so is one that waits longer than
	// MemoryBudgetTimeout, or whose message alone is larger than the budget;
	// Stats.ClosedBy counts them as "memory_budget". The last sixteenth of
	// the budget is kept for connections holding 64 KiB or less, so that
	// small messages go through while large ones wait. A message that fits
	// is never refused. WriteAsync finds a queue that would go past the
	// budget full. 0, the default, means no budget: gws cannot know what the
	// rest of the process needs, and a budget closes connections, so the
	// number is the operator's to choose (ReadMaxPayloadSize still bounds
	// each message). The Go runtime keeps garbage on top of what is live, up
	// to GOGC percent more: set a memory limit (GOMEMLIMIT) a little above
	// the budget plus what the rest of the program needs.
	MemoryBudget int

	// MemoryBudgetTimeout is how long a connection may wait for room in
	// MemoryBudget before it is closed with 1013. Default 10 s.
	MemoryBudgetTimeout time.Duration
}

// ClientOptions configures Dial and the connection it makes. Every field's
// zero value means the default given in its comment, so a nil
// *ClientOptions is a safe, standard configuration. The fields it shares
// with ServerOptions mean the same on both sides.
type ClientOptions struct {
	// Header holds extra headers for the opening handshake request, such as
	// Origin, Authorization or Cookie. A Host entry replaces the host the
	// request is sent with. The headers Dial writes itself (Upgrade,
	// Connection and the Sec-WebSocket-* headers) are refused.
	Header http.Header

	// SubProtocols lists the subprotocols to offer, in order of preference.
	// The server picks at most one; Conn.SubProtocol reports it.
	SubProtocols []string

	// TLSConfig configures TLS for wss:// URLs and for https:// proxies;
	// nil means the zero tls.Config. Its ServerName defaults to the URL's
	// host, and its NextProtos is set by Dial: "http/1.1", with "h2" first
	// when HTTP2 is set.
	TLSConfig *tls.Config

	// HTTP2 opens wss:// connections as streams of HTTP/2 (RFC 8441) when
	// the server allows it: Dial offers h2 in TLS, and if the server picks
	// it and advertises extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL)
	// the WebSocket runs on a stream of that connection; otherwise Dial
	// opens a new connection and upgrades over HTTP/1.1, as without HTTP2.
	// Each Dial has an HTTP/2 connection of its own. Off by default;
	// ws:// URLs always use HTTP/1.1.
	HTTP2 bool

	// Proxy returns the proxy for a request, or nil for none, as
	// http.Transport.Proxy does; it sees the request with an http or https
	// URL. nil means http.ProxyFromEnvironment (HTTP_PROXY, HTTPS_PROXY and
	// NO_PROXY, which never proxy loopback addresses). Proxies with an http
	// or https URL are supported, through CONNECT; credentials in the URL
	// are sent as Basic authorization.
	Proxy func(*http.Request) (*url.URL, error)

	// NetDial opens the transport connection to the server or to the proxy,
	// for custom transports (a Unix socket, an in-memory pipe, a dialer with
	// its own timeouts). network is "tcp" and addr is host:port. nil means
	// a net.Dialer.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// HandshakeTimeout bounds the whole of Dial (TCP, proxy, TLS and the
	// HTTP exchange) when ctx has no earlier deadline. Default 30 s;
	// negative means ctx alone.
	HandshakeTimeout time.Duration

	// CompressEnabled offers permessage-deflate (RFC 7692), as browsers do,
	// with client_max_window_bits. Off by default.
	CompressEnabled bool

	// CompressLevel is the compress/flate level, 1 (BestSpeed) to 9
	// (BestCompression); 0 means 1. When the server limits the client's
	// window below 32 KiB (client_max_window_bits < 15), gws compresses
	// with flate.HuffmanOnly, whose output fits any window.
	CompressLevel int

	// CompressThreshold is the smallest message, in bytes, that gws
	// compresses. Default 512.
	CompressThreshold int

	// CompressCodec is the DEFLATE implementation; nil means
	// compress/flate. See Codec.
	CompressCodec Codec

	// ServerContextTakeover lets the server keep its compression history
	// between messages, which costs the connection a window of up to 32 KiB
	// to decompress with. Off by default: the offer asks for
	// server_no_context_takeover (a server that ignores the request is
	// still accepted, and its history kept).
	ServerContextTakeover bool

	// ClientContextTakeover keeps the client's compression history from one
	// message to the next, when the server allows it, for a better ratio at
	// the cost of a flate writer of the connection's own (about 600 KiB).
	// Off by default: the offer says client_no_context_takeover and each
	// message is compressed alone with pooled writers.
	ClientContextTakeover bool

	// LogEnabled logs connection errors through Logger. Off by default.
	LogEnabled bool

	// Logger receives the logs when LogEnabled is set; nil means
	// slog.Default().
	Logger *slog.Logger

	// ReadMaxPayloadSize is the largest message, in bytes, the server may
	// send; a larger one fails the connection with close code 1009 before
	// any of it is buffered. Default 16 MiB.
	ReadMaxPayloadSize int

	// ReadBufferSize is the size of the buffer the connection borrows from
	// the pool while bytes are arriving. Default 4 KiB.
	ReadBufferSize int

	// WriteTimeout bounds every frame write; a write that times out fails
	// the connection. Default 10 s; negative means no limit.
	WriteTimeout time.Duration

	// CloseTimeout is how long to wait for the server's answer after
	// sending a close frame before dropping the TCP connection. Default 5 s.
	CloseTimeout time.Duration

	// PingInterval turns on the heartbeat: gws pings the server this often
	// and drops the connection if it has sent nothing (no pong, no message)
	// for PingTimeout after a ping. 0 (the default) leaves heartbeats to the
	// application.
	PingInterval time.Duration

	// PingTimeout is how long after a ping a silent server is dropped.
	// Default: PingInterval.
	PingTimeout time.Duration

	// SkipUTF8Validation turns off the check that text messages and close
	// reasons are valid UTF-8. The check is on by default, as RFC 6455
	// requires.
	SkipUTF8Validation bool
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
	// SlowClose closes the connection with 1008 (policy violation); the
	// Upgrader's Stats count it.
	SlowClose
)

// config is what a connection reads of its options, defaults applied. It
// is built once per Upgrader from ServerOptions, or per Dial from
// ClientOptions, so the connection code has one set of settings to read
// whichever side it is on.
type config struct {
	logger            *slog.Logger // nil when logging is off
	compress          bool
	compressLevel     int
	compressThreshold int
	codec             *codec
	serverTakeover    bool
	clientTakeover    bool
	readMax           int
	readBuffer        int
	writeTimeout      time.Duration // <= 0: no limit
	closeTimeout      time.Duration
	pingInterval      time.Duration // 0: no heartbeat
	pingTimeout       time.Duration
	skipUTF8          bool
	subProtocols      []string // offered by a client, spoken by a server, in order

	// Server side only.
	responseHeader    string // ResponseHeader as header lines, each ending in CRLF
	responseHeaderErr bool   // ResponseHeader has a name or value that would inject lines
	parallel          bool
	parallelLimit     int
	parallelQueue     int
	concurrency       int
	queueMessages     int
	queueBytes        int
	slowConsumer      SlowConsumerPolicy
	slowBlock         time.Duration
	poller            bool
	budget            int64
	budgetTimeout     time.Duration
}

func (o *ServerOptions) config() *config {
	if o == nil {
		o = &ServerOptions{}
	}
	c := &config{
		compress:          o.CompressEnabled,
		compressLevel:     o.CompressLevel,
		compressThreshold: o.CompressThreshold,
		codec:             codecOf(o.CompressCodec),
		serverTakeover:    o.ServerContextTakeover,
		clientTakeover:    o.ClientContextTakeover,
		readMax:           o.ReadMaxPayloadSize,
		readBuffer:        o.ReadBufferSize,
		writeTimeout:      o.WriteTimeout,
		closeTimeout:      o.CloseTimeout,
		pingInterval:      o.PingInterval,
		pingTimeout:       o.PingTimeout,
		skipUTF8:          o.SkipUTF8Validation,
		subProtocols:      o.SubProtocols,
		parallel:          o.ParallelEnabled,
		parallelLimit:     cmp.Or(max(o.ParallelLimit, 0), 8),
		parallelQueue:     cmp.Or(max(o.ParallelQueueSize, 0), 64),
		concurrency:       max(o.Concurrency, 0),
		queueMessages:     cmp.Or(max(o.WriteQueueMessages, 0), 256),
		queueBytes:        cmp.Or(max(o.WriteQueueBytes, 0), 1<<20),
		slowConsumer:      o.SlowConsumer,
		slowBlock:         cmp.Or(max(o.SlowBlockTimeout, 0), 5*time.Second),
		poller:            (o.Poller || pollerEverywhere) && pollerSupported,
		budget:            int64(max(o.MemoryBudget, 0)),
		budgetTimeout:     cmp.Or(max(o.MemoryBudgetTimeout, 0), 10*time.Second),
	}
	if o.LogEnabled {
		c.logger = cmp.Or(o.Logger, slog.Default())
	}
	if o.Poller && !pollerSupported {
		c.pollerLogger().Warn("gws: ServerOptions.Poller needs Linux; connections run on goroutines of their own")
	}
	c.responseHeader, c.responseHeaderErr = headerLines(o.ResponseHeader)
	return c.withDefaults()
}

// pollerEverywhere turns ServerOptions.Poller on for every Upgrader: this
// package's tests run once in each mode (TestPollerMode).
var pollerEverywhere = false

// pollerLogger is where the poller says it cannot work, LogEnabled or not:
// an option that does nothing must not go unnoticed.
func (c *config) pollerLogger() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// headerLines renders h as the header lines of a response, once, so that
// each 101 response copies them; ok is false when a name or value would
// inject lines of its own.
func headerLines(h http.Header) (lines string, bad bool) {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if !validHeaderField(k, h[k]) {
			return "", true
		}
		for _, v := range h[k] {
			b.WriteString(http.CanonicalHeaderKey(k) + ": " + v + "\r\n")
		}
	}
	return b.String(), false
}

func (o *ClientOptions) config() *config {
	c := &config{
		compress:          o.CompressEnabled,
		compressLevel:     o.CompressLevel,
		compressThreshold: o.CompressThreshold,
		codec:             codecOf(o.CompressCodec),
		serverTakeover:    o.ServerContextTakeover,
		clientTakeover:    o.ClientContextTakeover,
		readMax:           o.ReadMaxPayloadSize,
		readBuffer:        o.ReadBufferSize,
		writeTimeout:      o.WriteTimeout,
		closeTimeout:      o.CloseTimeout,
		pingInterval:      o.PingInterval,
		pingTimeout:       o.PingTimeout,
		skipUTF8:          o.SkipUTF8Validation,
		subProtocols:      o.SubProtocols,
		queueMessages:     256,
		queueBytes:        1 << 20,
		slowBlock:         5 * time.Second,
	}
	if o.LogEnabled {
		c.logger = cmp.Or(o.Logger, slog.Default())
	}
	return c.withDefaults()
}

// codecs holds the codec of every comparable CompressCodec seen, so that
// the Upgraders and Dials using one share its pools.
var codecs sync.Map

// codecOf returns the codec for a CompressCodec option.
func codecOf(impl Codec) *codec {
	if impl == nil {
		return stdCodec
	}
	if !reflect.TypeOf(impl).Comparable() {
		return newCodec(impl)
	}
	if k, ok := codecs.Load(impl); ok {
		return k.(*codec)
	}
	k, _ := codecs.LoadOrStore(impl, newCodec(impl))
	return k.(*codec)
}

// withDefaults fills in the defaults both sides share.
func (c *config) withDefaults() *config {
	if c.readMax <= 0 {
		c.readMax = 16 << 20
	}
	c.readBuffer = max(cmp.Or(max(c.readBuffer, 0), 4<<10), 256)
	if c.writeTimeout == 0 {
		c.writeTimeout = 10 * time.Second
	}
	if c.compressLevel < flate.BestSpeed || c.compressLevel > flate.BestCompression {
		c.compressLevel = flate.BestSpeed
	}
	if c.compressThreshold <= 0 {
		c.compressThreshold = 512
	}
	if c.closeTimeout <= 0 {
		c.closeTimeout = 5 * time.Second
	}
	if c.pingTimeout <= 0 {
		c.pingTimeout = c.pingInterval
	}
	return c
}
