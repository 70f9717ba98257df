package main

import (
	"net"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	gwsecho "github.com/gwsgo/gws/adapters/echo"
	gwsechov5 "github.com/gwsgo/gws/adapters/echov5"
	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gwsfiber "github.com/gwsgo/gws/adapters/fiber"
	gwsfiberv3 "github.com/gwsgo/gws/adapters/fiberv3"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"
	"github.com/valyala/fasthttp"
)

// server serves WebSocket echo on ln with one router until ln is closed.
type server func(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error

// routers maps each -router value to the code that mounts gws on it, on
// every path.
var routers = map[string]server{
	"nethttp":  serveNetHTTP,
	"gin":      serveGin,
	"echo":     serveEcho,
	"echov5":   serveEchoV5,
	"fasthttp": serveFastHTTP,
	"fiber":    serveFiber,
	"fiberv3":  serveFiberV3,
}

// With TLS (-tls) the net/http, Gin and Echo (v4 and v5) servers mount gws as
// middleware in front of a page, unchanged for HTTP/2: the middleware
// sees an extended CONNECT (RFC 8441) before the router would turn it away
// for its method.
func serveNetHTTP(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error {
	if isTLS(ln) {
		return serveHTTP(ln, gwshttp.Middleware(u, h)(page))
	}
	return serveHTTP(ln, gwshttp.Handler(u, h))
}

func serveGin(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if isTLS(ln) {
		r.Use(gwsgin.Middleware(u, h))
		r.GET("/*path", gin.WrapH(page))
	} else {
		r.GET("/*path", gwsgin.Handler(u, h))
	}
	return serveHTTP(ln, r)
}

func serveEcho(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error {
	e := echo.New()
	if isTLS(ln) {
		e.Use(gwsecho.Middleware(u, h))
		e.GET("/*", echo.WrapHandler(page))
	} else {
		e.GET("/*", gwsecho.Handler(u, h))
	}
	return serveHTTP(ln, e)
}

func serveEchoV5(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error {
	e := echov5.New()
	if isTLS(ln) {
		e.Use(gwsechov5.Middleware(u, h))
		e.GET("/*", echov5.WrapHandler(page))
	} else {
		e.GET("/*", gwsechov5.Handler(u, h))
	}
	return serveHTTP(ln, e)
}

// fasthttp's Date header is kept fresh by a goroutine that outlives every
// server, and its idle-worker cleaner notices a stopped server only when it
// wakes up; the echo server does without the one and wakes the other every
// second, so that a test can check that a closed server left no goroutine
// behind.
const fasthttpWorkerIdle = time.Second

func serveFastHTTP(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error {
	srv := &fasthttp.Server{
		Handler:               gwsfasthttp.Handler(u, h),
		ReadTimeout:           5 * time.Second,
		NoDefaultDate:         true,
		MaxIdleWorkerDuration: fasthttpWorkerIdle,
	}
	return srv.Serve(plainOrTLS(ln))
}

func serveFiber(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error {
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadTimeout:           5 * time.Second,
		DisableDefaultDate:    true,
	})
	app.Server().MaxIdleWorkerDuration = fasthttpWorkerIdle
	app.Get("/*", gwsfiber.Handler(u, h))
	return app.Listener(plainOrTLS(ln))
}

func serveFiberV3(ln net.Listener, u *gws.Upgrader, h gws.EventHandler) error {
	app := fiberv3.New(fiberv3.Config{
		ReadTimeout:        5 * time.Second,
		DisableDefaultDate: true,
	})
	app.Server().MaxIdleWorkerDuration = fasthttpWorkerIdle
	app.Get("/*", gwsfiberv3.Handler(u, h))
	return app.Listener(plainOrTLS(ln), fiberv3.ListenConfig{DisableStartupMessage: true})
}
