package rooms_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/core/rooms"
)

// lobby adds every connection to the hub as the user its URL names, and
// into the room "lobby".
type lobby struct {
	gws.NopHandler
	hub    *rooms.Hub
	joined chan struct{}
}

func (l *lobby) OnOpen(c *gws.Conn) {
	v, _ := c.Storage.Get("name")
	l.hub.Add(v.(string), c)
	l.hub.Join("lobby", c)
	l.joined <- struct{}{}
}

// printer prints what a client receives.
type printer struct {
	gws.NopHandler
	got chan struct{}
}

func (p printer) OnMessage(c *gws.Conn, m *gws.Message) {
	fmt.Println(string(m.Bytes()))
	m.Close()
	p.got <- struct{}{}
}

func Example() {
	hub, err := rooms.New(nil) // one node; with a Broker, every node of the cluster
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Close()
	h := &lobby{hub: hub, joined: make(chan struct{})}
	u := &gws.Upgrader{CheckOrigin: func(r *gws.Request) bool {
		r.Storage.Put("name", r.URL.Query().Get("name"))
		return true
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.Upgrade(context.Background(), w, r, h)
	}))
	defer srv.Close()
	defer u.Shutdown(context.Background())

	p := printer{got: make(chan struct{})}
	for _, name := range []string{"caster", "lancer"} {
		c, _, err := gws.Dial(context.Background(), "ws"+srv.URL[4:]+"/?name="+name, p, nil)
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		<-h.joined
	}
	fmt.Println(hub.Members("lobby"))
	node, _ := hub.Locate("lancer")
	fmt.Println(node != "")

	hub.Publish("lobby", gws.OpcodeText, []byte("hello, lobby"))
	<-p.got
	<-p.got
	hub.Send("lancer", gws.OpcodeText, []byte("hello, lancer"))
	<-p.got
	// Output:
	// [caster lancer]
	// true
	// hello, lobby
	// hello, lobby
	// hello, lancer
}
