// Package gws is an event-driven WebSocket (RFC 6455) library for servers
// and clients: you write an EventHandler, and gws calls it for every event
// of every connection.
//
// A server upgrades HTTP requests with an Upgrader, straight from a net/http
// handler as below, or through the adapter of its router
// (github.com/gwsgo/gws/adapters/nethttp, gin, echo, fiber, fasthttp):
//
//	type Handler struct{ gws.NopHandler } // no-ops for the events not defined
//
//	func (Handler) OnMessage(c *gws.Conn, m *gws.Message) {
//		defer m.Close()
//		c.Write(m.Opcode, m.Bytes())
//	}
//
//	upgrader := &gws.Upgrader{
//		ServerOptions: &gws.ServerOptions{CompressEnabled: true},
//		CheckOrigin: func(r *gws.Request) bool {
//			r.Storage.Put("user", r.URL.Query().Get("user"))
//			return true
//		},
//	}
//	upgrader.Use(gws.Recovery(func(e any) { log.Print(e) }))
//	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
//		upgrader.Upgrade(context.Background(), w, r, Handler{})
//	})
//
// Upgrade answers a refused handshake itself and returns at once; the
// connection's events run on a goroutine of their own: OnOpen, then
// OnMessage, OnPing and OnPong as frames arrive, then OnClose, once.
// Values CheckOrigin put in the request's Storage are the connection's
// Storage; Conn.Context carries the request context's values and is done
// once the connection has ended.
//
// Over HTTP/2 (browsers behind TLS, with GODEBUG=http2xconnect=1 on the
// server) a WebSocket is a stream of the page's connection (RFC 8441):
// Upgrade serves it too, running its events on the handler's goroutine
// until it ends.
//
// A client dials with Dial and gets a Conn with the same events and
// methods:
//
//	conn, _, err := gws.Dial(ctx, "wss://example.com/ws", Handler{}, &gws.ClientOptions{
//		Header: http.Header{"Authorization": {"Bearer " + token}},
//	})
//	if err != nil {
//		return err // a *HandshakeError says what the server answered
//	}
//	conn.WriteString("hello")
//
// # Writing
//
// Conn's write methods are safe for concurrent use and write one whole
// frame each: Write and WriteString wait until the frame is written (at
// most WriteTimeout), WriteAsync queues it and returns, with a
// SlowConsumer policy for peers that read too slowly, and WriteClose
// starts the closing handshake. A Broadcaster encodes one message once for
// any number of connections; Sessions keeps connections by key and forgets
// each one when it ends.
//
// # Options and defaults
//
// ServerOptions and ClientOptions are plain structs whose zero values are
// the defaults: text messages and close reasons must be valid UTF-8 (1007
// otherwise); messages may be up to 16 MiB (1009 past that, decided from
// the frame header before anything is buffered); pings are answered with a
// pong of the same payload before OnPing is called; every write must
// complete within 10 s; a close frame gws sends must be answered within
// 5 s; messages of a connection are handled one after another, in order
// (ParallelEnabled hands them to a bounded queue of workers instead);
// compression and the heartbeat are off; logging is off. A nil CheckOrigin
// accepts same-origin browsers and clients that send no Origin.
//
// # Memory
//
// An idle connection holds no read buffer and no write buffer: it borrows
// them from gws's size-tiered pool while bytes are moving. Message
// payloads come from the same pool, so a handler that calls Message.Close
// lets gws echo a steady stream of messages without allocating.
//
// For servers that hold many idle connections, ServerOptions.Poller (Linux)
// parks each in an epoll set instead of on a goroutine of its own, and
// serves those with data from a shared pool of goroutines, with the same
// events and guarantees. ServerOptions.MemoryBudget bounds what all of an
// Upgrader's connections hold in messages being received and in write
// queues: a connection that would go past it stops being read until there
// is room, so no set of clients can exhaust the server's memory.
//
// # Errors
//
// A protocol violation by the peer ends the connection with the RFC's
// close code: OnError receives a *CloseError whose Code is 1002, 1007 or
// 1009, and OnClose follows. A refused handshake is a *HandshakeError with
// the HTTP status, on both sides. Writes to a connection that has ended
// fail with an error wrapping net.ErrClosed.
package gws
