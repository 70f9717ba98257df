package gwsfasthttp_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"

	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/valyala/fasthttp"
)

// echo sends every message back, with the tenant CheckOrigin or the
// handler put in Storage, if any.
type echo struct{ gws.NopHandler }

func (echo) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if tenant, ok := c.Storage.Get("tenant"); ok {
		c.WriteString(fmt.Sprintf("%s: %s", tenant, m.Bytes()))
		return
	}
	c.Write(m.Opcode, m.Bytes())
}

// listen runs handler on a loopback port until stop is called.
func listen(handler fasthttp.RequestHandler) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: handler}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Shutdown() }
}

func ExampleHandler() {
	ws := gwsfasthttp.Handler(&gws.Upgrader{}, echo{})
	addr, stop := listen(func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/ws":
			ws(ctx)
		default:
			ctx.NotFound()
		}
	})
	defer stop()

	say("ws://"+addr+"/ws", nil, "hello from fasthttp")
	// Output: hello from fasthttp
}

func ExampleMiddleware() {
	page := func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("the page") }
	// The page and its socket share every path: WebSocket requests are
	// upgraded, every other request reaches the page.
	addr, stop := listen(gwsfasthttp.Middleware(&gws.Upgrader{}, echo{})(page))
	defer stop()

	get("http://" + addr + "/")
	say("ws://"+addr+"/", nil, "and its socket")
	// Output:
	// the page
	// and its socket
}

func ExampleUpgradeRequest() {
	upgrader := &gws.Upgrader{}
	addr, stop := listen(func(ctx *fasthttp.RequestCtx) {
		req, err := gwsfasthttp.NewRequest(ctx)
		if err != nil {
			ctx.Error("bad request", fasthttp.StatusBadRequest)
			return
		}
		req.Storage.Put("tenant", "acme")
		if err := gwsfasthttp.UpgradeRequest(upgrader, ctx, req, echo{}); err != nil {
			log.Printf("upgrade: %v", err) // the request has been answered already
		}
	})
	defer stop()

	say("ws://"+addr+"/", nil, "hi")
	// Output: acme: hi
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
func say(url string, header http.Header, text string) {
	c := client{done: make(chan struct{})}
	conn, _, err := gws.Dial(context.Background(), url, c, &gws.ClientOptions{Header: header})
	if err != nil {
		log.Fatal(err)
	}
	conn.WriteString(text)
	<-c.done
}

// get prints the body of the page at url.
func get(url string) {
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(page))
}
