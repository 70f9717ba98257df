//go:build !nogws

package servers

import (
	"net"

	fiberv3 "github.com/gofiber/fiber/v3"
	gwsfiberv3 "github.com/gwsgo/gws/adapters/fiberv3"
)

func init() {
	register(Library{Name: "gws-fiberv3", Title: "gws on Fiber v3 (gwsfiberv3)", WebSocket: true, Serve: serveGwsFiberV3, CanBroadcast: true, CanCompress: true})
}

// serveGwsFiberV3 is gws's echo or broadcast server mounted with
// gwsfiberv3 on a Fiber v3 app with its defaults, the same handler as on
// net/http and Fiber v2.
func serveGwsFiberV3(ln net.Listener, o Options) error {
	u, h := gwsSetup(o)
	app := fiberv3.New()
	app.Get("/", gwsfiberv3.Handler(u, h))
	return app.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true})
}
