package servers

import (
	"net"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

func init() {
	register(Library{Name: "fasthttp", Title: "fasthttp/websocket", WebSocket: true, Serve: serveFasthttp, CanBroadcast: true, CanCompress: true})
}

func serveFasthttp(ln net.Listener, o Options) error {
	up := websocket.FastHTTPUpgrader{CheckOrigin: func(*fasthttp.RequestCtx) bool { return true }, EnableCompression: o.Compress}
	var conns hub[*writeLocked[*websocket.Conn]]
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			_ = up.Upgrade(ctx, func(c *websocket.Conn) {
				defer c.Close()
				if o.Broadcast {
					broadcastPrepared(&conns, c, websocket.NewPreparedMessage)
				} else {
					echoMessages(c)
				}
			})
		},
	}
	return srv.Serve(ln)
}
