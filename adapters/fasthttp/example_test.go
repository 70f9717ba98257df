package gwsfasthttp_test

import (
	"log"

	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/valyala/fasthttp"
)

// chat handles messages only; gws.NopHandler supplies the other events.
type chat struct{ gws.NopHandler }

func (chat) OnMessage(c *gws.Conn, m *gws.Message) { c.Write(m.Opcode, m.Bytes()); m.Close() }

func ExampleHandler() {
	ws := gwsfasthttp.Handler(&gws.Upgrader{}, chat{})
	log.Fatal(fasthttp.ListenAndServe(":3000", func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/ws":
			ws(ctx)
		default:
			ctx.NotFound()
		}
	}))
}

func ExampleMiddleware() {
	page := fasthttp.FSHandler("static", 0)
	// The page and its socket share every path: WebSocket requests are
	// upgraded, every other request reaches the file server.
	log.Fatal(fasthttp.ListenAndServe(":3000", gwsfasthttp.Middleware(&gws.Upgrader{}, chat{})(page)))
}

func ExampleUpgradeRequest() {
	upgrader := &gws.Upgrader{}
	handler := func(ctx *fasthttp.RequestCtx) {
		req, err := gwsfasthttp.NewRequest(ctx)
		if err != nil {
			ctx.Error("bad request", fasthttp.StatusBadRequest)
			return
		}
		req.Storage.Put("tenant", string(ctx.Host()))
		if err := gwsfasthttp.UpgradeRequest(upgrader, ctx, req, chat{}); err != nil {
			log.Printf("upgrade: %v", err) // the request has been answered already
		}
	}
	log.Fatal(fasthttp.ListenAndServe(":3000", handler))
}
