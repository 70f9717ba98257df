package servers

import (
	"net"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

func init() {
	register(Library{Name: "fasthttp", Title: "fasthttp/websocket", WebSocket: true, Serve: serveFasthttp})
}

func serveFasthttp(ln net.Listener) error {
	up := websocket.FastHTTPUpgrader{CheckOrigin: func(*fasthttp.RequestCtx) bool { return true }}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			_ = up.Upgrade(ctx, func(c *websocket.Conn) {
				defer c.Close()
				// The gorilla-style echo that fasthttp/websocket documents.
				for {
					op, p, err := c.ReadMessage()
					if err != nil {
						return
					}
					if err := c.WriteMessage(op, p); err != nil {
						return
					}
				}
			})
		},
	}
	return srv.Serve(ln)
}
