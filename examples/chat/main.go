// Command chat is the seed's chat room, done right: users connect to
// /ws?name=NAME, send {"to": NAME, "message": TEXT} to one user or with an
// empty "to" to everyone, and a page at / lets a person chat from a browser.
//
//	go run ./examples/chat -addr 127.0.0.1:3000
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
	"sync"
	"syscall"
	"time"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
)

//go:embed index.html
var page []byte

// Room is the chat's EventHandler: it keeps the connected users by name.
type Room struct {
	mu    sync.RWMutex
	users map[string]*gws.Conn
}

// NewRoom returns an empty room.
func NewRoom() *Room { return &Room{users: make(map[string]*gws.Conn)} }

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
	r.mu.Lock()
	if old := r.users[name(c)]; old != nil {
		// A name belongs to its newest connection.
		old.WriteClose(gws.ClosePolicyViolation, []byte("name taken by a new connection"))
	}
	r.users[name(c)] = c
	r.mu.Unlock()
	r.SendAll(envelope{From: "server", Message: name(c) + " joined"})
}

func (r *Room) OnClose(c *gws.Conn, code gws.Code, reason []byte) {
	r.mu.Lock()
	if r.users[name(c)] == c {
		delete(r.users, name(c))
	}
	r.mu.Unlock()
}

func (r *Room) OnError(c *gws.Conn, err error) { log.Printf("chat: %s: %v", name(c), err) }
func (r *Room) OnPing(c *gws.Conn, p []byte)   {}
func (r *Room) OnPong(c *gws.Conn, p []byte)   {}

func (r *Room) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	var in envelope
	if err := json.Unmarshal(m.Bytes(), &in); err != nil {
		c.WriteString(`{"from":"server","message":"send {\"to\": NAME, \"message\": TEXT}"}`)
		return
	}
	out := envelope{From: name(c), To: in.To, Message: in.Message}
	if in.To == "" {
		r.SendAll(out)
		return
	}
	r.mu.RLock()
	to := r.users[in.To]
	r.mu.RUnlock()
	if to == nil {
		c.WriteString(`{"from":"server","message":"no such user"}`)
		return
	}
	b, _ := json.Marshal(out)
	to.Write(gws.OpcodeText, b)
	if to != c {
		c.Write(gws.OpcodeText, b)
	}
}

// SendAll sends e to every user.
func (r *Room) SendAll(e envelope) {
	b, _ := json.Marshal(e)
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, c := range r.users {
		c.Write(gws.OpcodeText, b)
	}
}

// CloseAll sends close 1001 to every user, as a server going down must.
func (r *Room) CloseAll() {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, c := range r.users {
		c.WriteClose(gws.CloseGoingAway, []byte("server shutting down"))
	}
}

// Len returns the number of users connected.
func (r *Room) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.users)
}

// newServer returns the chat's HTTP server: the page at / and the socket at
// /ws on the same mux.
func newServer(room *Room) *http.Server {
	upgrader := &gws.Upgrader{
		ServerOptions: &gws.ServerOptions{LogEnabled: true},
		CheckOrigin: func(r *gws.Request) bool {
			name := r.URL.Query().Get("name")
			if name == "" {
				return false
			}
			r.Storage.Put("name", name)
			return true
		},
	}
	upgrader.Use(gws.Recovery(func(e any) { log.Printf("chat: handler panic: %v", e) }))
	mux := http.NewServeMux()
	mux.Handle("GET /ws", gwshttp.Handler(upgrader, room))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	room := NewRoom()
	srv := newServer(room)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown(srv, room)
	}()
	log.Printf("chat: open http://%s/ in two browser tabs", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// shutdown stops accepting, says goodbye to every user with close 1001 and
// waits a little for them to answer.
func shutdown(srv *http.Server, room *Room) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	room.CloseAll()
	for room.Len() > 0 && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}
