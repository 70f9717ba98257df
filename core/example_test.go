package gws_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	gws "github.com/gwsgo/gws/core"
)

// The seed's way: a net/http handler upgrades with Upgrade and returns at
// once; the connection's events run on a goroutine of their own.
func ExampleUpgrader_Upgrade() {
	upgrader := &gws.Upgrader{
		CheckOrigin: func(r *gws.Request) bool {
			name := r.URL.Query().Get("name")
			r.Storage.Put("name", name)
			return name != ""
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		upgrader.Upgrade(context.Background(), w, r, echoHandler{})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	_, _, err := gws.Dial(context.Background(), url, echoHandler{}, nil)
	var refused *gws.HandshakeError
	if errors.As(err, &refused) {
		fmt.Println("without a name:", refused.StatusCode)
	}

	client := newPrinter()
	conn, _, err := gws.Dial(context.Background(), url+"?name=caster", client, nil)
	if err != nil {
		log.Fatal(err)
	}
	conn.WriteString("hello")
	conn.WriteClose(gws.CloseNormal, nil)
	<-client.done
	// Output:
	// without a name: 403
	// received: hello
	// closed: 1000
}

func ExampleUpgrader_Negotiate() {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/chat?name=caster", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")

	upgrader := &gws.Upgrader{
		CheckOrigin: func(r *gws.Request) bool {
			name := r.URL.Query().Get("name")
			r.Storage.Put("name", name)
			return name != ""
		},
	}
	req := gws.NewRequest(r)
	resp, err := upgrader.Negotiate(req)
	if err != nil {
		log.Fatal(err)
	}
	name, _ := req.Storage.Get("name")
	fmt.Printf("accepted %s, subprotocol %q\n", name, resp.SubProtocol)
	// Output: accepted caster, subprotocol ""
}

func ExampleUpgrader_Negotiate_rejected() {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/chat", nil)
	_, err := (&gws.Upgrader{}).Negotiate(gws.NewRequest(r))
	var he *gws.HandshakeError
	if errors.As(err, &he) {
		fmt.Println(he.StatusCode, he.Reason)
	}
	// Output: 400 websocket: 'Connection' header does not contain 'upgrade'
}

// panicky fails on the message "boom".
type panicky struct{ echoHandler }

func (p panicky) OnMessage(c *gws.Conn, m *gws.Message) {
	if string(m.Bytes()) == "boom" {
		panic("boom")
	}
	p.echoHandler.OnMessage(c, m)
}

func ExampleRecovery() {
	upgrader := &gws.Upgrader{}
	upgrader.Use(gws.Recovery(func(exception any) {
		fmt.Println("recovered:", exception)
	}))
	srv, url := echoServer(upgrader, panicky{})
	defer srv.Close()

	client := newPrinter()
	conn, _, err := gws.Dial(context.Background(), url, client, nil)
	if err != nil {
		log.Fatal(err)
	}
	conn.WriteString("boom")
	conn.WriteString("still here")
	conn.WriteClose(gws.CloseNormal, nil)
	<-client.done
	// Output:
	// recovered: boom
	// received: still here
	// closed: 1000
}

// A middleware of your own sees every message before OnMessage: here it
// drops empty messages and upper-cases the rest.
func ExampleMiddleware() {
	upgrader := &gws.Upgrader{}
	upgrader.Use(func(socket *gws.Conn, msg *gws.Message) {
		if len(msg.Bytes()) == 0 {
			msg.Close() // OnMessage never sees it
			return
		}
		copy(msg.Bytes(), strings.ToUpper(string(msg.Bytes())))
		msg.Next(socket)
	})
	srv, url := echoServer(upgrader, echoHandler{})
	defer srv.Close()

	client := newPrinter()
	conn, _, err := gws.Dial(context.Background(), url, client, nil)
	if err != nil {
		log.Fatal(err)
	}
	conn.WriteString("")
	conn.WriteString("quiet please")
	conn.WriteClose(gws.CloseNormal, nil)
	<-client.done
	// Output:
	// received: QUIET PLEASE
	// closed: 1000
}

// room keeps its members in a Sessions registry, by name.
type room struct {
	gws.NopHandler
	members gws.Sessions[string]
	joined  chan struct{}
}

func (r *room) OnOpen(c *gws.Conn) {
	name, _ := c.Storage.Get("name")
	r.members.Store(name.(string), c)
	r.joined <- struct{}{}
}

func ExampleBroadcaster() {
	r := &room{joined: make(chan struct{})}
	upgrader := &gws.Upgrader{CheckOrigin: func(req *gws.Request) bool {
		req.Storage.Put("name", req.URL.Query().Get("name"))
		return true
	}}
	srv, url := echoServer(upgrader, r)
	defer srv.Close()

	var clients []*printer
	for _, name := range []string{"caster", "lancer", "archer"} {
		p := newPrinter()
		if _, _, err := gws.Dial(context.Background(), url+"?name="+name, p, nil); err != nil {
			log.Fatal(err)
		}
		<-r.joined
		clients = append(clients, p)
	}

	// One frame, encoded once, queued on every member's connection.
	b := gws.NewBroadcaster(gws.OpcodeText, []byte("dinner is ready"))
	r.members.Range(func(name string, c *gws.Conn) bool {
		b.Broadcast(c)
		return true
	})
	b.Close()

	upgrader.Shutdown(context.Background())
	for _, p := range clients {
		<-p.done
	}
	// Unordered output:
	// received: dinner is ready
	// closed: 1001 server shutting down
	// received: dinner is ready
	// closed: 1001 server shutting down
	// received: dinner is ready
	// closed: 1001 server shutting down
}

func ExampleSessions() {
	r := &room{joined: make(chan struct{}, 2)}
	upgrader := &gws.Upgrader{CheckOrigin: func(req *gws.Request) bool {
		req.Storage.Put("name", "caster")
		return true
	}}
	srv, url := echoServer(upgrader, r)
	defer srv.Close()

	first, second := newPrinter(), newPrinter()
	gws.Dial(context.Background(), url, first, nil)
	<-r.joined
	gws.Dial(context.Background(), url, second, nil)
	<-r.joined

	// Store replaced the first connection under the same name.
	fmt.Println("members:", r.members.Len())
	c, _ := r.members.Load("caster")
	c.WriteString("you are the newest")

	upgrader.Shutdown(context.Background())
	<-first.done
	<-second.done
	fmt.Println("after shutdown:", r.members.Len())
	// Unordered output:
	// members: 1
	// received: you are the newest
	// closed: 1001 server shutting down
	// closed: 1001 server shutting down
	// after shutdown: 0
}

// A dashboard pushes updates without waiting for slow clients: WriteAsync
// queues them, and SlowDrop drops what a full queue cannot take.
func ExampleConn_WriteAsync() {
	upgrader := &gws.Upgrader{ServerOptions: &gws.ServerOptions{
		SlowConsumer:       gws.SlowDrop,
		WriteQueueMessages: 64,
	}}
	opened := make(chan *gws.Conn, 1)
	srv, url := echoServer(upgrader, onOpen(func(c *gws.Conn) { opened <- c }))
	defer srv.Close()

	client := newPrinter()
	if _, _, err := gws.Dial(context.Background(), url, client, nil); err != nil {
		log.Fatal(err)
	}
	server := <-opened
	sent := make(chan error, 1)
	server.WriteAsync(gws.OpcodeText, []byte(`{"cpu": 0.42}`), func(err error) { sent <- err })
	fmt.Println("sent:", <-sent, "dropped so far:", upgrader.Stats().Dropped)

	server.WriteClose(gws.CloseNormal, nil)
	<-client.done
	// The client prints from its own goroutine, before or after "sent".

	// Unordered output:
	// sent: <nil> dropped so far: 0
	// received: {"cpu": 0.42}
	// closed: 1000
}

// onOpen is an EventHandler that only reports new connections.
type onOpen func(*gws.Conn)

func (f onOpen) OnOpen(c *gws.Conn)                  { f(c) }
func (onOpen) OnClose(*gws.Conn, gws.Code, []byte)   {}
func (onOpen) OnMessage(_ *gws.Conn, m *gws.Message) { m.Close() }
func (onOpen) OnError(*gws.Conn, error)              {}
func (onOpen) OnPing(*gws.Conn, []byte)              {}
func (onOpen) OnPong(*gws.Conn, []byte)              {}

func ExampleUpgrader_Shutdown() {
	upgrader := &gws.Upgrader{}
	srv, url := echoServer(upgrader, echoHandler{})
	// Stop taking new HTTP connections first; Shutdown then ends the
	// hijacked ones that http.Server.Shutdown does not see.
	defer srv.Close()

	client := newPrinter()
	if _, _, err := gws.Dial(context.Background(), url, client, nil); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := upgrader.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	<-client.done
	_, _, err := gws.Dial(context.Background(), url, echoHandler{}, nil)
	var he *gws.HandshakeError
	fmt.Println("new connections:", errors.As(err, &he), he.StatusCode)
	// Output:
	// closed: 1001 server shutting down
	// new connections: true 503
}

func ExampleStorage() {
	var s gws.Storage
	s.Put("name", "lancer")
	s.Put("room", 7)
	name, ok := s.Get("name")
	fmt.Println(name, ok, s.Len())
	// Output: lancer true 2
}

// A handler that only cares about messages embeds NopHandler for the rest.
type shout struct{ gws.NopHandler }

func (shout) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	c.WriteString(strings.ToUpper(string(m.Bytes())))
}

func ExampleNopHandler() {
	var h gws.EventHandler = shout{}
	_ = h
}
