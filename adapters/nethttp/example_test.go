package gwshttp_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
)

// echo sends every message back; gws.NopHandler supplies the other events.
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
	fmt.Printf("%s\n", m.Bytes())
	conn.WriteClose(gws.CloseNormal, nil)
}

func (c client) OnClose(*gws.Conn, gws.Code, []byte) { close(c.done) }

// say sends text to the WebSocket at url and prints the answer.
func say(url, text string) {
	c := client{done: make(chan struct{})}
	conn, _, err := gws.Dial(context.Background(), url, c, nil)
	if err != nil {
		log.Fatal(err)
	}
	conn.WriteString(text)
	<-c.done
}

func ExampleHandler() {
	upgrader := &gws.Upgrader{}
	mux := http.NewServeMux()
	mux.Handle("/ws", gwshttp.Handler(upgrader, echo{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	say("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", "hello from net/http")
	// Output: hello from net/http
}

func ExampleMiddleware() {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "the page")
	})
	// The page and its socket share "/": WebSocket requests are upgraded,
	// every other request reaches the page.
	srv := httptest.NewServer(gwshttp.Middleware(&gws.Upgrader{}, echo{})(page))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	say("ws"+strings.TrimPrefix(srv.URL, "http"), "and its socket")
	// Output:
	// the page
	// and its socket
}
