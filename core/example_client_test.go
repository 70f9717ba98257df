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
type echoHandler struct{}

func (echoHandler) OnOpen(*gws.Conn)                    {}
func (echoHandler) OnClose(*gws.Conn, gws.Code, []byte) {}
func (echoHandler) OnError(*gws.Conn, error)            {}
func (echoHandler) OnPing(*gws.Conn, []byte)            {}
func (echoHandler) OnPong(*gws.Conn, []byte)            {}
func (echoHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	c.Write(m.Opcode, m.Bytes())
}

// printingClient prints what the server sends, and closes the connection
// after the first message.
type printingClient struct{ done chan struct{} }

func (printingClient) OnOpen(*gws.Conn)         {}
func (printingClient) OnError(*gws.Conn, error) {}
func (printingClient) OnPing(*gws.Conn, []byte) {}
func (printingClient) OnPong(*gws.Conn, []byte) {}
func (printingClient) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	fmt.Printf("echo: %s\n", m.Bytes())
	c.WriteClose(gws.CloseNormal, []byte("thanks"))
}
func (p printingClient) OnClose(c *gws.Conn, code gws.Code, reason []byte) {
	fmt.Println("closed:", code)
	close(p.done)
}

// wsHandler upgrades requests with core alone, as the net/http adapter
// does, and runs each connection on its handler's goroutine.
func wsHandler(u *gws.Upgrader, h gws.EventHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := gws.NewRequest(r)
		resp, err := u.Negotiate(req)
		var he *gws.HandshakeError
		if errors.As(err, &he) {
			he.WriteResponse(w)
			return
		}
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
		if c, err := u.Accept(nc, buffered, req, resp, h); err == nil {
			c.ReadLoop()
		}
	}
}

func ExampleDial() {
	srv := httptest.NewServer(wsHandler(&gws.Upgrader{}, echoHandler{}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo"

	client := printingClient{done: make(chan struct{})}
	conn, resp, err := gws.Dial(context.Background(), url, client, &gws.ClientOptions{
		Header: http.Header{"Authorization": {"Bearer example"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", resp.StatusCode)
	go conn.ReadLoop() // events arrive on this goroutine
	conn.WriteString("hello, gws")
	<-client.done
	// Output:
	// status: 101
	// echo: hello, gws
	// closed: 1000
}

func ExampleDial_refused() {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, _, err := gws.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/nowhere", echoHandler{}, nil)
	var de *gws.DialError
	if errors.As(err, &de) && errors.Is(err, gws.ErrHandshakeStatus) {
		fmt.Printf("%d %s", de.StatusCode, de.Body)
	}
	// Output: 404 404 page not found
}
