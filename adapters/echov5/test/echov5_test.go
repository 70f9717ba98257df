package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	gwsechov5 "github.com/gwsgo/gws/adapters/echov5"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/routertest"
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// newEcho returns an Echo instance with the RequestLogger, Recover, CORS
// and Gzip middleware in its chain, as a production service has them; the
// log goes to log, as JSON.
func newEcho(log io.Writer) *echo.Echo {
	e := echo.New()
	e.Logger = slog.New(slog.NewJSONHandler(log, nil))
	e.Use(middleware.RequestLogger())
	e.Use(middleware.Recover())
	e.Use(middleware.CORS("*"))
	e.Use(middleware.Gzip())
	return e
}

// browserHeader is what a browser adds to a WebSocket handshake, and what
// makes the Gzip middleware wrap the response writer.
var browserHeader = http.Header{"Accept-Encoding": {"gzip, deflate, br"}, "Origin": {"http://app.example"}}

func TestHandler(t *testing.T) {
	var log routertest.SyncBuffer
	e := newEcho(&log)
	e.GET("/ws", gwsechov5.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, routertest.Probe{}))
	routertest.CheckUpgrade(t, routertest.ServeHTTP(t, e), "/ws", browserHeader)
	if !log.Await(5*time.Second, `"status":101`) {
		t.Fatalf("RequestLogger did not log the upgrade as 101: %q", log.String())
	}
}

func TestMiddleware(t *testing.T) {
	e := newEcho(io.Discard)
	e.Use(gwsechov5.Middleware(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, routertest.Probe{}))
	e.GET("/chat", func(c *echo.Context) error { return c.String(http.StatusOK, strings.Repeat("page ", 100)) })
	routertest.CheckSharedPath(t, routertest.ServeHTTP(t, e), "/chat", strings.Repeat("page ", 100), browserHeader)
}

func TestRejectedOrigin(t *testing.T) {
	var log routertest.SyncBuffer
	e := newEcho(&log)
	e.GET("/ws", gwsechov5.Handler(&gws.Upgrader{}, routertest.Probe{})) // same-origin check
	if body := routertest.CheckRejectedOrigin(t, routertest.ServeHTTP(t, e), "/ws"); body != "websocket: request origin not allowed\n" {
		t.Fatalf("403 body %q: Echo's error handler wrote over the answer", body)
	}
	if !log.Await(5*time.Second, `"status":403`, "origin not allowed") {
		t.Fatalf("RequestLogger did not log the rejection and its cause: %q", log.String())
	}
}

// TestErrorAfterUpgrade checks that a middleware that fails after the
// upgrade does not have Echo's error handler answer on the connection that
// has left net/http: the RequestLogger still logs 101, with the error.
func TestErrorAfterUpgrade(t *testing.T) {
	var log routertest.SyncBuffer
	e := newEcho(&log)
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if err := next(c); err != nil {
				return err
			}
			return errors.New("audit trail unavailable")
		}
	})
	e.GET("/ws", gwsechov5.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, routertest.Probe{}))
	routertest.CheckEcho(t, routertest.MustDial(t, routertest.ServeHTTP(t, e), "/ws", nil), "still open")
	if !log.Await(5*time.Second, `"status":101`, "audit trail unavailable") {
		t.Fatalf("RequestLogger did not log 101 with the error: %q", log.String())
	}
}

// TestOpaqueWriter checks that an upgrade made impossible by a middleware
// fails with an error that names the cause, instead of hanging or
// panicking.
func TestOpaqueWriter(t *testing.T) {
	errs := make(chan error, 1)
	e := newEcho(io.Discard)
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			res, err := echo.UnwrapResponse(c.Response())
			if err != nil {
				return err
			}
			res.ResponseWriter = routertest.OpaqueWriter{W: res.ResponseWriter}
			err = next(c)
			errs <- err
			return err
		}
	})
	e.GET("/ws", gwsechov5.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, routertest.Probe{}))
	routertest.CheckHandshakeStatus(t, routertest.ServeHTTP(t, e), "/ws", nil, http.StatusInternalServerError)
	var he *gws.HandshakeError
	if err := <-errs; !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError || !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("error %v is not a 500 *gws.HandshakeError wrapping http.ErrNotSupported", err)
	}
}

func TestPanicInCheckOrigin(t *testing.T) {
	e := newEcho(io.Discard)
	u := &gws.Upgrader{CheckOrigin: func(*gws.Request) bool { panic("broken check") }}
	e.GET("/ws", gwsechov5.Handler(u, routertest.Probe{}))
	// The Recover middleware's answer.
	routertest.CheckHandshakeStatus(t, routertest.ServeHTTP(t, e), "/ws", nil, http.StatusInternalServerError)
}

// TestRouterValues checks that route parameters, request context values
// and what CheckOrigin copied from c.Get are still right in OnMessage
// after many other requests have reused Echo's contexts.
func TestRouterValues(t *testing.T) {
	e := newEcho(io.Discard)
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			user := c.Request().Header.Get("X-User")
			c.Set("user", user)
			c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), routertest.ContextKey("user"), user)))
			return next(c)
		}
	})
	u := &gws.Upgrader{CheckOrigin: func(r *gws.Request) bool {
		user, _ := gwsechov5.Context(r).Get("user").(string)
		r.Storage.Put("user", user)
		room, _ := r.Storage.Get("param:room")
		return room == "lobby" && user == "alice"
	}}
	e.GET("/rooms/:room/ws", gwsechov5.Handler(u, routertest.Probe{}))
	e.GET("/rooms/:room", func(c *echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprintf("%s in %s", c.Get("user"), c.Param("room")))
	})
	routertest.CheckRouterValues(t, routertest.ServeHTTP(t, e), "/rooms/lobby/ws", "/rooms/attic", "%s in attic",
		map[string]string{"get user": "alice", "get param:room": "lobby", "ctx user": "alice"})
}

func TestContextOutsideHandshake(t *testing.T) {
	if c := gwsechov5.Context(gws.NewRequest(&http.Request{})); c != nil {
		t.Fatalf("Context of a request not being upgraded: %v, want nil", c)
	}
}

func TestConformanceSmoke(t *testing.T) {
	e := newEcho(io.Discard)
	e.GET("/*", gwsechov5.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, wstest.Echo{}))
	conformance.Run(t, routertest.ServeHTTP(t, e), "/", conformance.Cases(1, 2, 5, 7))
}
