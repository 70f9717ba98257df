package test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	leak.VerifyTestMain(m)
}

// newRouter returns a Gin engine with the Logger and Recovery middleware
// in its chain, as gin.Default has them; the log goes to log.
func newRouter(log io.Writer) *gin.Engine {
	r := gin.New()
	r.Use(gin.LoggerWithWriter(log), gin.RecoveryWithWriter(log))
	return r
}

func TestHandler(t *testing.T) {
	var log routertest.SyncBuffer
	r := newRouter(&log)
	r.GET("/ws", gwsgin.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, routertest.Probe{}))
	routertest.CheckUpgrade(t, routertest.ServeHTTP(t, r), "/ws", nil)
	if !strings.Contains(log.String(), "| 101 |") {
		t.Fatalf("Logger did not log the upgrade as 101: %q", log.String())
	}
}

func TestMiddleware(t *testing.T) {
	r := newRouter(io.Discard)
	r.Use(gwsgin.Middleware(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, routertest.Probe{}))
	r.GET("/chat", func(c *gin.Context) { c.String(http.StatusOK, "page") })
	routertest.CheckSharedPath(t, routertest.ServeHTTP(t, r), "/chat", "page", nil)
}

func TestRejectedOrigin(t *testing.T) {
	var log routertest.SyncBuffer
	r := newRouter(&log)
	r.GET("/ws", gwsgin.Handler(&gws.Upgrader{}, routertest.Probe{})) // same-origin check
	routertest.CheckRejectedOrigin(t, routertest.ServeHTTP(t, r), "/ws")
	if !strings.Contains(log.String(), "| 403 |") || !strings.Contains(log.String(), "origin not allowed") {
		t.Fatalf("Logger did not log the rejection and its cause: %q", log.String())
	}
}

// TestHeaderWritten checks that an upgrade after a middleware wrote the
// response header fails with an error that names the cause, instead of
// sending a 101 behind the header (Gin 1.12 would hijack) or hanging.
func TestHeaderWritten(t *testing.T) {
	errs := make(chan error, 1)
	r := newRouter(io.Discard)
	r.Use(func(c *gin.Context) {
		c.Writer.WriteHeaderNow()
		c.Next()
		errs <- c.Errors.Last()
	})
	r.GET("/ws", gwsgin.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, routertest.Probe{}))
	addr := routertest.ServeHTTP(t, r)
	if _, resp, err := rawclient.Dial(addr, "/ws", nil); err == nil || resp == nil || resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatalf("got %v, %v: want a plain HTTP answer", resp, err)
	}
	if err := <-errs; err == nil || !strings.Contains(err.Error(), "wrote the response header") {
		t.Fatalf("error %v does not name the cause", err)
	}
}

func TestPanicInCheckOrigin(t *testing.T) {
	r := newRouter(io.Discard)
	u := &gws.Upgrader{CheckOrigin: func(*gws.Request) bool { panic("broken check") }}
	r.GET("/ws", gwsgin.Handler(u, routertest.Probe{}))
	// The Recovery middleware's answer.
	routertest.CheckHandshakeStatus(t, routertest.ServeHTTP(t, r), "/ws", nil, http.StatusInternalServerError)
}

// TestRouterValues checks that c.Set values, route parameters and request
// context values set before the upgrade are still right in OnMessage after
// many other requests have reused Gin's contexts.
func TestRouterValues(t *testing.T) {
	r := newRouter(io.Discard)
	r.Use(func(c *gin.Context) {
		user := c.GetHeader("X-User")
		c.Set("user", user)
		c.Set(routertest.ContextKey("typed"), "left out")
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), routertest.ContextKey("user"), user))
	})
	u := &gws.Upgrader{CheckOrigin: func(r *gws.Request) bool {
		room, _ := r.Storage.Get("param:room")
		user, _ := r.Storage.Get("user")
		return room == "lobby" && user == "alice"
	}}
	r.GET("/rooms/:room/ws", gwsgin.Handler(u, routertest.Probe{}))
	r.GET("/rooms/:room", func(c *gin.Context) {
		c.String(http.StatusOK, "%s in %s", c.GetString("user"), c.Param("room"))
	})
	routertest.CheckRouterValues(t, routertest.ServeHTTP(t, r), "/rooms/lobby/ws", "/rooms/attic", "%s in attic",
		map[string]string{"get user": "alice", "get param:room": "lobby", "ctx user": "alice", "get typed": "<nil>"})
}

func TestConformanceSmoke(t *testing.T) {
	r := newRouter(io.Discard)
	r.GET("/*path", gwsgin.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, wstest.Echo{}))
	conformance.Run(t, routertest.ServeHTTP(t, r), "/", conformance.Cases(1, 2, 5, 7))
}
