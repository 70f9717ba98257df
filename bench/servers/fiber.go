//go:build !nogws

package servers

import (
	"net"

	fastws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	gwsfiber "github.com/gwsgo/gws/adapters/fiber"
)

func init() {
	register(Library{Name: "gws-fiber", Title: "gws on Fiber (gwsfiber)", WebSocket: true, Serve: serveGwsFiber, CanBroadcast: true, CanCompress: true})
	register(Library{Name: "fiber", Title: "Fiber websocket (contrib)", WebSocket: true, Serve: serveFiber, CanBroadcast: true, CanCompress: true})
}

// newFiberApp is a Fiber app with its defaults, quiet at start-up so that
// the runner reads the server's own first line.
func newFiberApp() *fiber.App {
	return fiber.New(fiber.Config{DisableStartupMessage: true})
}

// serveGwsFiber is gws's echo or broadcast server mounted with gwsfiber,
// the same handler as on net/http.
func serveGwsFiber(ln net.Listener, o Options) error {
	u, h := gwsSetup(o)
	app := newFiberApp()
	app.Get("/", gwsfiber.Handler(u, h))
	return app.Listener(ln)
}

// serveFiber is github.com/gofiber/contrib/websocket, Fiber's own
// middleware: fasthttp/websocket underneath, so the echo and broadcast are
// fasthttp/websocket's.
func serveFiber(ln net.Listener, o Options) error {
	var conns hub[*writeLocked[*fastws.Conn]]
	app := newFiberApp()
	app.Get("/", websocket.New(func(c *websocket.Conn) {
		if o.Broadcast {
			broadcastPrepared(&conns, c.Conn, fastws.NewPreparedMessage)
		} else {
			echoMessages(c.Conn)
		}
	}, websocket.Config{EnableCompression: o.Compress}))
	return app.Listener(ln)
}
