package test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	gwsechov5 "github.com/gwsgo/gws/adapters/echov5"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
	"github.com/labstack/echo/v5"
)

// TestHTTP2 opens WebSockets as HTTP/2 streams (RFC 8441) through Echo v5.
// Middleware mounted with Use takes them with no change: Echo runs it
// around its method-not-allowed handler too, which is where an extended
// CONNECT to a GET route goes. Handler takes them on a route registered
// for CONNECT as well as GET; on a GET-only route Echo answers the
// CONNECT 405 before any adapter code runs.
func TestHTTP2(t *testing.T) {
	if !routertest.XConnect(t, true) {
		return
	}
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	e := echo.New()
	e.Use(gwsechov5.Middleware(u, routertest.Probe{}))
	e.GET("/", func(c *echo.Context) error { return c.String(http.StatusOK, "page") })
	routertest.CheckH2Echo(t, routertest.ServeH2(t, u, e, nil), "/", "hello", strings.Repeat("x", 70000))

	u = &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	e = echo.New()
	var status atomic.Int64
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			err := next(c)
			if res, _ := echo.UnwrapResponse(c.Response()); res != nil {
				status.Store(int64(res.Status))
			}
			return err
		}
	})
	e.Match([]string{http.MethodGet, http.MethodConnect}, "/ws", gwsechov5.Handler(u, routertest.Probe{}))
	e.GET("/get-only", gwsechov5.Handler(u, routertest.Probe{}))
	addr := routertest.ServeH2(t, u, e, nil)
	routertest.CheckH2Echo(t, addr, "/ws", "hello")
	if s := status.Load(); s != http.StatusOK {
		t.Errorf("Echo recorded status %d for an HTTP/2 WebSocket, want the 200 it was answered", s)
	}
	h2, err := rawclient.DialH2(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if _, resp, err := h2.Dial("/get-only", nil); err == nil || resp == nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("extended CONNECT to a GET-only route: %v, %v; want Echo's 405", resp, err)
	}
}
