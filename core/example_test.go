package gws_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	gws "github.com/gwsgo/gws/core"
)

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
	fmt.Println(resp.Header.Get("Sec-WebSocket-Accept"), name)
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo= caster
}

func ExampleUpgrader_Negotiate_rejected() {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/chat", nil)
	_, err := (&gws.Upgrader{}).Negotiate(gws.NewRequest(r))
	var he *gws.HandshakeError
	if errors.As(err, &he) {
		fmt.Println(he.Status, he.Reason)
	}
	// Output: 400 websocket: 'Connection' header does not contain 'upgrade'
}

func ExampleUpgrader_Use() {
	upgrader := &gws.Upgrader{}
	upgrader.Use(gws.Recovery(func(exception any) {
		log.Printf("handler panicked: %v", exception)
	}))
	upgrader.Use(func(socket *gws.Conn, msg *gws.Message) {
		if len(msg.Bytes()) == 0 {
			msg.Close() // drop empty messages: OnMessage never sees them
			return
		}
		msg.Next(socket)
	})
}

func ExampleStorage() {
	s := gws.NewStorage()
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
