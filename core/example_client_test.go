package gws_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	gws "github.com/gwsgo/gws/core"
)

// echoHandler echoes every message back: the server of the examples.
type echoHandler struct{ gws.NopHandler }

func (echoHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	c.Write(m.Opcode, m.Bytes())
}

// printer prints what the server sends and how the connection ends;
// done is closed when it has ended.
type printer struct {
	gws.NopHandler
	done chan struct{}
}

func newPrinter() *printer { return &printer{done: make(chan struct{})} }

func (p *printer) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	fmt.Printf("received: %s\n", m.Bytes())
}

func (p *printer) OnClose(c *gws.Conn, code gws.Code, reason []byte) {
	if len(reason) > 0 {
		fmt.Println("closed:", code, string(reason))
	} else {
		fmt.Println("closed:", code)
	}
	close(p.done)
}

// echoServer serves upgrader's connections with h through Upgrade, and
// returns its ws:// URL.
func echoServer(upgrader *gws.Upgrader, h gws.EventHandler) (*httptest.Server, string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upgrader.Upgrade(context.Background(), w, r, h)
	}))
	return srv, "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

func ExampleDial() {
	srv, url := echoServer(&gws.Upgrader{}, echoHandler{})
	defer srv.Close()

	client := newPrinter()
	conn, resp, err := gws.Dial(context.Background(), url, client, &gws.ClientOptions{
		Header: http.Header{"Authorization": {"Bearer example"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", resp.StatusCode)
	conn.WriteString("hello, gws")
	conn.WriteClose(gws.CloseNormal, []byte("thanks"))
	<-client.done
	// Output:
	// status: 101
	// received: hello, gws
	// closed: 1000
}

func ExampleDial_refused() {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, resp, err := gws.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/nowhere", echoHandler{}, nil)
	var he *gws.HandshakeError
	if errors.As(err, &he) {
		fmt.Println(he.StatusCode, resp.StatusCode)
	}
	// Output: 404 404
}

// A client opens its WebSocket as a stream of an HTTP/2 connection (RFC
// 8441) where the server allows it: a Go server does over HTTPS with
// GODEBUG=http2xconnect=1 in its environment. Elsewhere Dial upgrades over
// HTTP/1.1 as without HTTP2. (Not run: it needs such a server.)
func ExampleClientOptions_http2() {
	conn, resp, err := gws.Dial(context.Background(), "wss://example.com/ws", newPrinter(), &gws.ClientOptions{HTTP2: true})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.WriteClose(gws.CloseNormal, nil)
	if resp.ProtoMajor == 2 {
		fmt.Println("an HTTP/2 stream, answered", resp.StatusCode) // 200
	} else {
		fmt.Println("HTTP/1.1, answered", resp.StatusCode) // 101
	}
}
