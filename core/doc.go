// Package gws is an event-driven WebSocket (RFC 6455) engine for servers
// and clients: you write an EventHandler, gws calls it for every event of
// every connection.
//
// The core knows no router. An Upgrader checks an HTTP request
// (Negotiate), the router's adapter takes the connection over, and
// Accept or NewConn turns it into a Conn whose ReadLoop delivers the events.
// Adapters do this for net/http (github.com/gwsgo/gws/adapters/nethttp),
// Gin, Echo, Fiber and fasthttp; with net/http it reads:
//
//	type Handler struct{}
//
//	func (Handler) OnOpen(c *gws.Conn)                          {}
//	func (Handler) OnClose(c *gws.Conn, code gws.Code, r []byte) {}
//	func (Handler) OnError(c *gws.Conn, err error)              {}
//	func (Handler) OnPing(c *gws.Conn, p []byte)                {}
//	func (Handler) OnPong(c *gws.Conn, p []byte)                {}
//	func (Handler) OnMessage(c *gws.Conn, m *gws.Message) {
//		defer m.Close()
//		c.Write(m.Opcode, m.Bytes())
//	}
//
//	upgrader := &gws.Upgrader{}
//	upgrader.Use(gws.Recovery(func(e any) { log.Print(e) }))
//	http.Handle("/ws", gwshttp.Handler(upgrader, Handler{}))
//
// # Client
//
// Dial connects to a server and returns a Conn with the same events,
// methods and options as on the server side; the caller runs its ReadLoop
// on the goroutine of its choice (see the example of Dial):
//
//	conn, _, err := gws.Dial(ctx, "wss://example.com/ws", Handler{}, &gws.ClientOptions{
//		Header:          http.Header{"Authorization": {"Bearer " + token}},
//		CompressEnabled: true,
//	})
//	if err != nil {
//		return err // a *DialError says what the server answered
//	}
//	go conn.ReadLoop()
//	conn.WriteString("hello")
//
// ClientOptions covers TLS, subprotocols, HTTP and HTTPS proxies (from the
// environment by default, as net/http does), a dial hook for other
// transports, and a handshake timeout of 30 s. Client frames are masked
// with a fresh random key each, as RFC 6455 requires.
//
// # Queues, broadcast and lifecycle
//
// By default a connection's messages are handled one after another on its
// read goroutine. ServerOptions.ParallelEnabled hands them to a bounded
// queue served by up to ParallelLimit goroutines (and at most Concurrency
// across the Upgrader); a full queue stops reading. Conn.WriteAsync queues
// writes in order, bounded in messages and bytes, with a SlowConsumer
// policy for peers that read too slowly. A Broadcaster encodes a message
// once for any number of connections; Sessions keeps connections by key
// and forgets each when it ends; PingInterval turns on a heartbeat served
// by one ticker; Upgrader.Shutdown closes every connection with 1001.
//
//	var room gws.Sessions[string]
//	b := gws.NewBroadcaster(gws.OpcodeText, []byte("hello, everyone"))
//	room.Range(func(_ string, c *gws.Conn) bool { b.Broadcast(c); return true })
//	b.Close()
//
// # Defaults
//
// With a nil or empty ServerOptions: text messages and close reasons must be
// valid UTF-8 (1007 otherwise); messages may be up to 16 MiB (1009 past
// that, decided from the frame header before anything is buffered); pings
// are answered with a pong of the same payload before OnPing is called;
// CheckOrigin nil accepts only same-origin browsers (and clients that send no
// Origin); the 101 response must be written within 5 s; every write must
// complete within 10 s; a close frame gws sends is answered within 5 s or
// the connection is dropped; logging is off.
//
// # Memory
//
// A connection holds no read buffer while idle: on Unix systems it waits for
// the socket to become readable and only then borrows a buffer
// (ReadBufferSize, 4 KiB) from gws's size-tiered pool, giving it back once
// the bytes are consumed. Message payloads and outgoing frames use the same
// pool, so echoing a steady stream of messages allocates nothing per
// message as long as handlers call Message.Close.
//
// # System calls
//
// On a TCP socket with a file descriptor, the read loop and the handlers it
// calls run inside one syscall.RawConn.Read. On Linux, a request answered
// with a reply costs one recvmsg(2) and one write(2): with TCP_INQ the read
// reports that the socket is empty, and once the reply has been written
// (which would fail had the peer reset the connection) gws waits for the
// poller without the read that would fail with EAGAIN. For that reason a
// handler must close the connection with Conn.Close, never NetConn().Close,
// which would wait for the handler itself to return.
//
// # Errors
//
// A protocol violation by the peer ends the connection with the RFC's close
// code (1002, 1007, 1009), OnError with an error wrapping ErrProtocol,
// ErrInvalidUTF8 or ErrMessageTooBig, and then OnClose. A rejected handshake
// is a *HandshakeError that says which HTTP status to answer with.
package gws
