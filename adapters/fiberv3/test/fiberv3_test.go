package test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/compress"
	"github.com/gofiber/fiber/v3/middleware/logger"
	"github.com/gofiber/fiber/v3/middleware/recover"
	gwsfiberv3 "github.com/gwsgo/gws/adapters/fiberv3"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

func TestMain(m *testing.M) {
	leak.VerifyTestMainIgnoring(m, slices.Concat(leak.FasthttpGoroutines,
		[]string{"github.com/gofiber/fiber/v3/middleware/logger.New"})...) // its clock for ${time}
}

// newApp returns a Fiber app with the logger, recover and compress
// middleware in its chain, as a production app has them; the log goes to
// log.
func newApp(log io.Writer) *fiber.App {
	app := fiber.New()
	app.Use(logger.New(logger.Config{Stream: log}))
	app.Use(recover.New())
	app.Use(compress.New(compress.Config{Level: compress.LevelBestSpeed}))
	return app
}

// logged reports whether log has a line, in the logger's default format
// ("time | status | latency | ip | method | path | error", padded), for a
// request of method for path answered with status.
func logged(log fmt.Stringer, status int, method, path string) bool {
	line := fmt.Sprintf(`\| %d \| .* \| %s +\| %s\s`, status, method, regexp.QuoteMeta(path))
	return regexp.MustCompile(line).MatchString(log.String())
}

// serve runs app on a loopback port until the test ends and returns its
// address.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	listen := func(ln net.Listener) error {
		return app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}
	return routertest.Serve(t, nil, listen, app.Shutdown)
}

// browserHeader is what a browser adds to a WebSocket handshake and what
// trips compression middleware.
var browserHeader = http.Header{"Accept-Encoding": {"gzip, deflate, br"}}

func TestHandler(t *testing.T) {
	var log routertest.SyncBuffer
	app := newApp(&log)
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	app.Get("/ws", gwsfiberv3.Handler(u, routertest.Probe{}))
	routertest.CheckUpgrade(t, serve(t, app), "/ws", browserHeader)
	if !logged(&log, 101, "GET", "/ws") {
		t.Fatalf("logger did not log the upgrade: %q", log.String())
	}
}

func TestMiddleware(t *testing.T) {
	app := newApp(io.Discard)
	u := &gws.Upgrader{CheckOrigin: routertest.AnyOrigin}
	app.Use("/chat", gwsfiberv3.Middleware(u, routertest.Probe{}))
	// Long enough for the compress middleware to compress the page that
	// shares its path with the socket.
	page := strings.Repeat("page ", 100)
	app.Get("/chat", func(c fiber.Ctx) error { return c.SendString(page) })
	routertest.CheckSharedPath(t, serve(t, app), "/chat", page, browserHeader)
}

func TestRejectedOrigin(t *testing.T) {
	var log routertest.SyncBuffer
	app := newApp(&log)
	app.Get("/ws", gwsfiberv3.Handler(&gws.Upgrader{}, routertest.Probe{})) // same-origin check
	routertest.CheckRejectedOrigin(t, serve(t, app), "/ws")
	if !logged(&log, 403, "GET", "/ws") {
		t.Fatalf("logger did not log the rejection: %q", log.String())
	}
}

func TestPanicInCheckOrigin(t *testing.T) {
	app := newApp(io.Discard)
	u := &gws.Upgrader{CheckOrigin: func(*gws.Request) bool { panic("broken check") }}
	app.Get("/ws", gwsfiberv3.Handler(u, routertest.Probe{}))
	// The recover middleware's answer.
	routertest.CheckHandshakeStatus(t, serve(t, app), "/ws", nil, http.StatusInternalServerError)
}

// TestRouterValues checks that Locals (set both ways Fiber v3 offers),
// route parameters and the request context set before the upgrade are
// still right in OnMessage after many other requests have reused Fiber's
// contexts and fasthttp's buffers, and that CheckOrigin sees the live
// fiber.Ctx.
func TestRouterValues(t *testing.T) {
	app := newApp(io.Discard)
	app.Use(func(c fiber.Ctx) error {
		user := c.Get("X-User") // points into fasthttp's request buffer
		c.Locals("user", user)
		fiber.Locals(c, "role", []byte("admin"))
		c.SetContext(context.WithValue(c.Context(), routertest.ContextKey("user"), user))
		return c.Next()
	})
	u := &gws.Upgrader{CheckOrigin: func(r *gws.Request) bool {
		room, _ := r.Storage.Get("param:room")
		user, _ := r.Storage.Get("user")
		c, _ := r.RouterContext.(fiber.Ctx)
		return room == "lobby" && user == "alice" && c != nil && c.Params("room") == "lobby"
	}}
	app.Get("/rooms/:room/ws", gwsfiberv3.Handler(u, routertest.Probe{}))
	app.Get("/rooms/:room", func(c fiber.Ctx) error {
		return c.SendString(fmt.Sprintf("%s in %s", c.Locals("user"), c.Params("room")))
	})
	routertest.CheckRouterValues(t, serve(t, app), "/rooms/lobby/ws", "/rooms/attic", "%s in attic",
		map[string]string{"get user": "alice", "get role": fmt.Sprint([]byte("admin")), "get param:room": "lobby", "ctx user": "alice"})
}

func TestConformanceSmoke(t *testing.T) {
	app := newApp(io.Discard)
	app.Get("/*", gwsfiberv3.Handler(&gws.Upgrader{CheckOrigin: routertest.AnyOrigin}, wstest.Echo{}))
	conformance.Run(t, serve(t, app), "/", conformance.Cases(1, 2, 5, 7))
}
