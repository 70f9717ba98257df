//go:build !nogws

package servers

import (
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	gwsecho "github.com/gwsgo/gws/adapters/echo"
	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gwsfiber "github.com/gwsgo/gws/adapters/fiber"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gws "github.com/gwsgo/gws/core"
	"github.com/labstack/echo/v4"
	"github.com/valyala/fasthttp"
)

// gws in poller mode on the other routers, for the idle scenario: what an
// idle connection costs depends on what the router leaves behind after the
// upgrade (issue 16 asks for the figure on every one). On net/http the
// variant is gws-poller, which runs every scenario.
func init() {
	for _, l := range []Library{
		{Name: "gws-poller-gin", Title: "gws, poller mode, on Gin", Serve: serveGwsPollerGin},
		{Name: "gws-poller-echo", Title: "gws, poller mode, on Echo", Serve: serveGwsPollerEcho},
		{Name: "gws-poller-fasthttp", Title: "gws, poller mode, on fasthttp", Serve: serveGwsPollerFasthttp},
		{Name: "gws-poller-fiber", Title: "gws, poller mode, on Fiber", Serve: serveGwsPollerFiber},
	} {
		l.WebSocket, l.IdleOnly = true, true
		register(l)
	}
}

// gwsPollerSetup is gwsSetup with ServerOptions.Poller.
func gwsPollerSetup(o Options) (*gws.Upgrader, gws.EventHandler) {
	u, h := gwsSetup(o)
	u.ServerOptions.Poller = true
	return u, h
}

func serveGwsPollerGin(ln net.Listener, o Options) error {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/", gwsgin.Handler(gwsPollerSetup(o)))
	return (&http.Server{Handler: r}).Serve(ln)
}

func serveGwsPollerEcho(ln net.Listener, o Options) error {
	e := echo.New()
	e.GET("/", gwsecho.Handler(gwsPollerSetup(o)))
	return (&http.Server{Handler: e}).Serve(ln)
}

func serveGwsPollerFasthttp(ln net.Listener, o Options) error {
	return (&fasthttp.Server{Handler: gwsfasthttp.Handler(gwsPollerSetup(o))}).Serve(ln)
}

func serveGwsPollerFiber(ln net.Listener, o Options) error {
	app := newFiberApp()
	app.Get("/", gwsfiber.Handler(gwsPollerSetup(o)))
	return app.Listener(ln)
}
