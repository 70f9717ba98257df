package gwsklauspost_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	gwsklauspost "github.com/gwsgo/gws/compress/klauspost"
	gws "github.com/gwsgo/gws/core"
)

// echo sends every message back.
type echo struct{ gws.NopHandler }

func (echo) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	c.Write(m.Opcode, m.Bytes())
}

// client prints the first message it receives, then closes.
type client struct {
	gws.NopHandler
	done chan struct{}
}

func (c client) OnMessage(conn *gws.Conn, m *gws.Message) {
	defer m.Close()
	fmt.Printf("%d bytes back\n", len(m.Bytes()))
	conn.WriteClose(gws.CloseNormal, nil)
}

func (c client) OnClose(*gws.Conn, gws.Code, []byte) { close(c.done) }

func ExampleCodec() {
	upgrader := &gws.Upgrader{ServerOptions: &gws.ServerOptions{
		CompressEnabled: true,
		CompressCodec:   gwsklauspost.Codec{},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upgrader.Upgrade(context.Background(), w, r, echo{})
	}))
	defer srv.Close()

	c := client{done: make(chan struct{})}
	conn, resp, err := gws.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), c, &gws.ClientOptions{
		CompressEnabled: true,
		CompressCodec:   gwsklauspost.Codec{},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Header.Get("Sec-WebSocket-Extensions"))
	conn.WriteString(strings.Repeat("compress me ", 1000))
	<-c.done
	// Output:
	// permessage-deflate; server_no_context_takeover; client_no_context_takeover
	// 12000 bytes back
}
