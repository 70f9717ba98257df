// Command chat is a chat with rooms, on one node or on many: users connect
// to /ws?name=NAME and send JSON objects, one per text message, and a page
// at / lets a person chat from a browser.
//
//	go run ./examples/chat -addr 127.0.0.1:3000
//	go run ./examples/chat -addr 127.0.0.1:3001 -broker nats://127.0.0.1:4222
//	go run ./examples/chat -addr 127.0.0.1:3002 -broker redis://127.0.0.1:6379
//	go run ./examples/chat -addr 127.0.0.1:3000 -metrics 127.0.0.1:9090
//
// Without -broker the node is alone; with one, every node on the same
// broker shares users, rooms and presence. What a client sends:
//
//	{"to": NAME, "message": T}      to one user, wherever connected; the sender gets a copy
//	{"message": T}                  to everyone on every node
//	{"join": ROOM}, {"leave": ROOM} a room, on every node
//	{"room": ROOM, "message": T}    to the room's members (the sender need not be one)
//	{"who": ROOM}                   answered with {"from": "server", "room": ROOM, "members": [NAMES]}
//
// and what it gets: {"from": NAME, "to": NAME?, "room": ROOM?, "message": T},
// with notices "from": "server". A name belongs to its newest connection
// across all nodes: the older one is closed with 1008. With -metrics,
// Prometheus metrics are served at /metrics on that address (see
// metrics.go); with -poller, idle users' connections wait in gws's epoll
// set instead of on a goroutine each (poller.go).
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gwsnats "github.com/gwsgo/gws/brokers/nats"
	gwsredis "github.com/gwsgo/gws/brokers/redis"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/core/rooms"
)

//go:embed index.html
var page []byte

// Chat is the chat's EventHandler; its Hub keeps the users and rooms of
// every node.
type Chat struct {
	hub *rooms.Hub
}

// request is what clients send: which field is there says what to do.
type request struct {
	To      *string `json:"to"`
	Message string  `json:"message"`
	Join    *string `json:"join"`
	Leave   *string `json:"leave"`
	Room    *string `json:"room"`
	Who     *string `json:"who"`
}

// envelope is what the server delivers.
type envelope struct {
	From    string `json:"from"`
	To      string `json:"to,omitempty"`
	Room    string `json:"room,omitempty"`
	Message string `json:"message"`
}

// roster answers {"who": ROOM}.
type roster struct {
	From    string   `json:"from"`
	Room    string   `json:"room"`
	Members []string `json:"members"`
}

const usage = `send {"to": NAME, "message": TEXT}, {"message": TEXT}, {"join": ROOM}, {"leave": ROOM}, {"room": ROOM, "message": TEXT} or {"who": ROOM}`

func name(c *gws.Conn) string {
	v, _ := c.Storage.Get("name")
	s, _ := v.(string)
	return s
}

func (ch *Chat) OnOpen(c *gws.Conn) {
	// The user's older connection, on any node, is closed with 1008.
	if err := ch.hub.Add(name(c), c); err != nil {
		log.Printf("chat: %s: %v", name(c), err)
		return
	}
	ch.publish("", envelope{From: "server", Message: name(c) + " joined"})
}

func (ch *Chat) OnClose(c *gws.Conn, code gws.Code, reason []byte) {
	// A connection replaced by a newer one of the same user leaves
	// without a notice: the user is still here.
	if _, ok := ch.hub.Locate(name(c)); !ok {
		ch.publish("", envelope{From: "server", Message: name(c) + " left"})
	}
}

func (ch *Chat) OnError(c *gws.Conn, err error) { log.Printf("chat: %s: %v", name(c), err) }
func (ch *Chat) OnPing(c *gws.Conn, p []byte)   {}
func (ch *Chat) OnPong(c *gws.Conn, p []byte)   {}

func (ch *Chat) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	me := name(c)
	var in request
	if err := json.Unmarshal(m.Bytes(), &in); err != nil {
		send(c, envelope{From: "server", Message: usage})
		return
	}
	switch {
	case in.Join != nil, in.Leave != nil, in.Who != nil, in.Room != nil:
		ch.inRoom(c, in)
	case in.To != nil && *in.To != "":
		to := *in.To
		out, _ := json.Marshal(envelope{From: me, To: to, Message: in.Message})
		if err := ch.hub.Send(to, gws.OpcodeText, out); err != nil {
			send(c, envelope{From: "server", Message: "no such user: " + to})
			return
		}
		if to != me {
			c.WriteAsync(gws.OpcodeText, out, nil) // the sender sees what it sent
		}
	default:
		ch.publish("", envelope{From: me, Message: in.Message})
	}
}

// inRoom handles the requests that name a room.
func (ch *Chat) inRoom(c *gws.Conn, in request) {
	me := name(c)
	var room string
	for _, r := range []*string{in.Join, in.Leave, in.Who, in.Room} {
		if r != nil {
			room = *r
			break
		}
	}
	if room == "" {
		send(c, envelope{From: "server", Message: "a room needs a name"})
		return
	}
	switch {
	case in.Join != nil:
		if err := ch.hub.Join(room, c); err != nil {
			send(c, envelope{From: "server", Room: room, Message: err.Error()})
			return
		}
		ch.publish(room, envelope{From: "server", Room: room, Message: me + " joined " + room})
	case in.Leave != nil:
		ch.hub.Leave(room, c)
		left := envelope{From: "server", Room: room, Message: me + " left " + room}
		send(c, left)
		ch.publish(room, left)
	case in.Who != nil:
		members := ch.hub.Members(room)
		if members == nil {
			members = []string{} // [], not null
		}
		send(c, roster{From: "server", Room: room, Members: members})
	default:
		ch.publish(room, envelope{From: me, Room: room, Message: in.Message})
	}
}

func send(c *gws.Conn, v any) {
	b, _ := json.Marshal(v)
	c.WriteAsync(gws.OpcodeText, b, nil)
}

// publish sends e to room's members on every node ("" is everyone),
// encoded once per node.
func (ch *Chat) publish(room string, e envelope) {
	b, _ := json.Marshal(e)
	if err := ch.hub.Publish(room, gws.OpcodeText, b); err != nil {
		log.Printf("chat: %v", err)
	}
}

// newServer returns the chat's HTTP server, the page at / and the socket
// at /ws on one mux, and the Upgrader, for Shutdown.
func newServer(chat *Chat) (*http.Server, *gws.Upgrader) {
	upgrader := &gws.Upgrader{
		ServerOptions: &gws.ServerOptions{
			LogEnabled:   true,
			PingInterval: 15 * time.Second,
			PingTimeout:  30 * time.Second,
			// A busy room sends small messages in bursts: up to 16,384
			// of them, or 1 MiB (the default), wait for a reader before it
			// loses messages (SlowDrop), rather than the server's memory.
			WriteQueueMessages: 1 << 14,
			Poller:             usePoller,
		},
		CheckOrigin: func(r *gws.Request) bool {
			// Replacing the default check must not drop it: without it any
			// web page a user visits could chat under their name.
			if !gws.SameOrigin(r) {
				return false
			}
			r.Storage.Put("name", r.URL.Query().Get("name"))
			return true
		},
	}
	upgrader.Use(gws.Recovery(func(e any) { log.Printf("chat: handler panic: %v", e) }))
	ws := gwshttp.Handler(upgrader, chat)
	mux := http.NewServeMux()
	socket := func(w http.ResponseWriter, r *http.Request) {
		// Checked here rather than in CheckOrigin, whose refusal would
		// blame the origin.
		if r.URL.Query().Get("name") == "" {
			http.Error(w, "chat: a name is required: /ws?name=NAME", http.StatusForbidden)
			return
		}
		ws.ServeHTTP(w, r)
	}
	// GET for HTTP/1.1 upgrades, CONNECT for HTTP/2 streams (RFC 8441).
	mux.HandleFunc("GET /ws", socket)
	mux.HandleFunc("CONNECT /ws", socket)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, upgrader
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	brokerURL := flag.String("broker", "", "nats://HOST:PORT or redis://HOST:PORT to share users and rooms with the other nodes on it; none: this node alone")
	node := flag.String("node", "", "this node's name in presence (default: the address it listens on)")
	metricsAddr := flag.String("metrics", "", "address to serve Prometheus metrics on, at /metrics (none by default)")
	flag.Parse()
	broker, closer, err := dialBroker(*brokerURL)
	if err != nil {
		log.Fatal(err)
	}
	defer closer.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *node == "" {
		*node = ln.Addr().String()
	}
	instrument, err := metricsOn(*metricsAddr)
	if err != nil {
		log.Fatal(err)
	}
	hub, err := rooms.New(&rooms.Options{Broker: broker, Node: *node})
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("chat: open %s://%s/ in two browser tabs", scheme(), ln.Addr())
	if err := run(ctx, ln, &Chat{hub: hub}, instrument); err != nil {
		log.Fatal(err)
	}
}

// dialBroker connects to the broker named by url; "" is none (the Hub's
// in-process broker).
func dialBroker(url string) (rooms.Broker, io.Closer, error) {
	switch {
	case url == "":
		return nil, io.NopCloser(nil), nil
	case strings.HasPrefix(url, "nats://"), strings.HasPrefix(url, "tls://"):
		b, err := gwsnats.Connect(url)
		return b, b, err
	case strings.HasPrefix(url, "redis://"), strings.HasPrefix(url, "rediss://"):
		b, err := gwsredis.Connect(url)
		return b, b, err
	}
	return nil, nil, fmt.Errorf("chat: -broker %q: want nats://… or redis://…", url)
}

// run serves the chat on ln until ctx is done, then shuts down gracefully:
// no new connections, close 1001 to every user, and up to 5 s for them to
// answer. instrument, unless nil, gets the Upgrader before it serves.
func run(ctx context.Context, ln net.Listener, chat *Chat, instrument func(*gws.Upgrader)) error {
	srv, upgrader := newServer(chat)
	if instrument != nil {
		instrument(upgrader)
	}
	errc := make(chan error, 1)
	go func() { errc <- serve(srv, ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	done, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Side by side, not one after the other: http.Server.Shutdown waits up
	// to 5 s for connections that have not sent a request yet, and browsers
	// keep spare ones open, so users would hear their close 1001 late and
	// have little of the 5 s left to answer it. The Upgrader refuses new
	// handshakes from the moment its Shutdown begins.
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Shutdown(done) }()
	if err := upgrader.Shutdown(done); err != nil {
		log.Printf("chat: %v: some users did not answer the close", err)
	}
	if err := <-httpDone; err != nil {
		srv.Close() // drop the HTTP connections still open at the deadline
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
