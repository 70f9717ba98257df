package test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

// TestHTTP2 opens WebSockets as HTTP/2 streams (RFC 8441) through Gin.
// Middleware mounted with Use takes them with no change: Gin runs global
// middleware even for a request no route matches, and an extended CONNECT
// matches no GET route. Handler takes them on a route registered for
// CONNECT as well as GET; on a GET-only route Gin answers the CONNECT
// 404 before any adapter code runs.
func TestHTTP2(t *testing.T) {
	if !routertest.XConnect(t, true) {
		return
	}
	var log routertest.SyncBuffer
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	r := newRouter(&log)
	r.Use(gwsgin.Middleware(u, routertest.Probe{}))
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "page") })
	routertest.CheckH2Echo(t, routertest.ServeH2(t, u, r, nil), "/", "hello", strings.Repeat("x", 70000))

	u = &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	r = newRouter(&log)
	r.Match([]string{http.MethodGet, http.MethodConnect}, "/ws", gwsgin.Handler(u, routertest.Probe{}))
	r.GET("/get-only", gwsgin.Handler(u, routertest.Probe{}))
	addr := routertest.ServeH2(t, u, r, nil)
	routertest.CheckH2Echo(t, addr, "/ws", "hello")
	if !strings.Contains(log.String(), "| 200 |") {
		t.Errorf("Logger did not log the HTTP/2 WebSocket as 200: %q", log.String())
	}
	h2, err := rawclient.DialH2(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if _, resp, err := h2.Dial("/get-only", nil); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("extended CONNECT to a GET-only route: %v, %v; want Gin's 404", resp, err)
	}
}
