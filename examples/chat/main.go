// Command chat is the seed's chat room, done right: users connect to
// /ws?name=NAME, send {"to": NAME, "message": TEXT} to one user or with an
// empty "to" to everyone, and a page at / lets a person chat from a browser.
//
//	go run ./examples/chat -addr 127.0.0.1:3000 -metrics 127.0.0.1:9090
//
// With -metrics, Prometheus metrics are served at /metrics on that
// address (see metrics.go).
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
)

//go:embed index.html
var page []byte

// Room is the chat's EventHandler: its users, by name.
type Room struct {
	users gws.Sessions[string]
}

// envelope is what clients send; the server adds From when it delivers.
type envelope struct {
	From    string `json:"from,omitempty"`
	To      string `json:"to"`
	Message string `json:"message"`
}

func name(c *gws.Conn) string {
	v, _ := c.Storage.Get("name")
	s, _ := v.(string)
	return s
}

func (r *Room) OnOpen(c *gws.Conn) {
	if old := r.users.Store(name(c), c); old != nil {
		// A name belongs to its newest connection.
		old.WriteClose(gws.ClosePolicyViolation, []byte("name taken by a new connection"))
	}
	r.SendAll(envelope{From: "server", Message: name(c) + " joined"})
}

func (r *Room) OnClose(c *gws.Conn, code gws.Code, reason []byte) {
	if _, ok := r.users.Load(name(c)); !ok {
		r.SendAll(envelope{From: "server", Message: name(c) + " left"})
	}
}

func (r *Room) OnError(c *gws.Conn, err error) { log.Printf("chat: %s: %v", name(c), err) }
func (r *Room) OnPing(c *gws.Conn, p []byte)   {}
func (r *Room) OnPong(c *gws.Conn, p []byte)   {}

func (r *Room) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	var in envelope
	if err := json.Unmarshal(m.Bytes(), &in); err != nil {
		r.send(c, envelope{From: "server", Message: `send {"to": NAME, "message": TEXT}`})
		return
	}
	out := envelope{From: name(c), To: in.To, Message: in.Message}
	if in.To == "" {
		r.SendAll(out)
		return
	}
	to, ok := r.users.Load(in.To)
	if !ok {
		r.send(c, envelope{From: "server", Message: "no such user: " + in.To})
		return
	}
	r.send(to, out)
	if to != c {
		r.send(c, out) // the sender sees what it sent
	}
}

func (r *Room) send(c *gws.Conn, e envelope) {
	b, _ := json.Marshal(e)
	c.WriteAsync(gws.OpcodeText, b, nil)
}

// SendAll sends e to every user, encoding it once.
func (r *Room) SendAll(e envelope) {
	b, _ := json.Marshal(e)
	all := gws.NewBroadcaster(gws.OpcodeText, b)
	defer all.Close()
	r.users.Range(func(_ string, c *gws.Conn) bool {
		all.Broadcast(c)
		return true
	})
}

// newServer returns the chat's HTTP server, the page at / and the socket
// at /ws on one mux, and the Upgrader, for Shutdown.
func newServer(room *Room) (*http.Server, *gws.Upgrader) {
	upgrader := &gws.Upgrader{
		ServerOptions: &gws.ServerOptions{
			LogEnabled:   true,
			PingInterval: 15 * time.Second,
			PingTimeout:  30 * time.Second,
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
	ws := gwshttp.Handler(upgrader, room)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		// Checked here rather than in CheckOrigin, whose refusal would
		// blame the origin.
		if r.URL.Query().Get("name") == "" {
			http.Error(w, "chat: a name is required: /ws?name=NAME", http.StatusForbidden)
			return
		}
		ws.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, upgrader
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	metricsAddr := flag.String("metrics", "", "address to serve Prometheus metrics on, at /metrics (none by default)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	instrument, err := metricsOn(*metricsAddr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("chat: open http://%s/ in two browser tabs", ln.Addr())
	if err := run(ctx, ln, &Room{}, instrument); err != nil {
		log.Fatal(err)
	}
}

// run serves the chat on ln until ctx is done, then shuts down gracefully:
// no new connections, close 1001 to every user, and up to 5 s for them to
// answer. instrument, unless nil, gets the Upgrader before it serves.
func run(ctx context.Context, ln net.Listener, room *Room, instrument func(*gws.Upgrader)) error {
	srv, upgrader := newServer(room)
	if instrument != nil {
		instrument(upgrader)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
