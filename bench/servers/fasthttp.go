package servers

import (
	"net"
	"sync"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/gwsgo/gws/bench/internal/wire"
)

func init() {
	register(Library{Name: "fasthttp", Title: "fasthttp/websocket", WebSocket: true, Serve: serveFasthttp, CanBroadcast: true, CanCompress: true})
}

func serveFasthttp(ln net.Listener, o Options) error {
	up := websocket.FastHTTPUpgrader{CheckOrigin: func(*fasthttp.RequestCtx) bool { return true }, EnableCompression: o.Compress}
	var conns hub[*fasthttpConn]
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			_ = up.Upgrade(ctx, func(c *websocket.Conn) {
				defer c.Close()
				if o.Broadcast {
					fasthttpBroadcast(&conns, c)
				} else {
					fasthttpEcho(c)
				}
			})
		},
	}
	return srv.Serve(ln)
}

// fasthttpEcho is the gorilla-style echo that fasthttp/websocket documents;
// Fiber's websocket middleware runs it too.
func fasthttpEcho(c *websocket.Conn) {
	for {
		op, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(op, p); err != nil {
			return
		}
	}
}

type fasthttpConn struct {
	mu sync.Mutex
	*websocket.Conn
}

// fasthttpBroadcast is gorilla's, since fasthttp/websocket is its fork:
// a PreparedMessage written to every connection.
func fasthttpBroadcast(conns *hub[*fasthttpConn], c *websocket.Conn) {
	fc := &fasthttpConn{Conn: c}
	conns.add(fc)
	defer conns.remove(fc)
	fc.mu.Lock()
	err := c.WriteMessage(websocket.BinaryMessage, []byte(wire.Welcome))
	fc.mu.Unlock()
	for err == nil {
		var op int
		var p []byte
		if op, p, err = c.ReadMessage(); err != nil {
			return
		}
		var pm *websocket.PreparedMessage
		if pm, err = websocket.NewPreparedMessage(op, p); err != nil {
			return
		}
		conns.each(func(to *fasthttpConn) {
			to.mu.Lock()
			_ = to.WritePreparedMessage(pm)
			to.mu.Unlock()
		})
	}
}
