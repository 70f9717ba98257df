package gwsechov5_test

import (
	gwsechov5 "github.com/gwsgo/gws/adapters/echov5"
	gws "github.com/gwsgo/gws/core"
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

// chat handles messages only; gws.NopHandler supplies the other events.
type chat struct{ gws.NopHandler }

func (chat) OnMessage(c *gws.Conn, m *gws.Message) {
	user, _ := c.Storage.Get("user") // copied by CheckOrigin
	c.Write(gws.OpcodeText, append([]byte(user.(string)+": "), m.Bytes()...))
	m.Close()
}

func ExampleHandler() {
	e := echo.New()
	e.Use(middleware.KeyAuth(func(c *echo.Context, key string, _ middleware.ExtractorSource) (bool, error) {
		c.Set("user", "user-of-"+key)
		return key != "", nil
	}))
	upgrader := &gws.Upgrader{
		CheckOrigin: func(r *gws.Request) bool {
			// Echo cannot list c.Set values: copy the ones the connection needs.
			user, ok := gwsechov5.Context(r).Get("user").(string)
			r.Storage.Put("user", user)
			return ok
		},
	}
	e.GET("/rooms/:room/ws", gwsechov5.Handler(upgrader, chat{}))
	// In the handler, c.Storage.Get("user") and c.Storage.Get("param:room").
}

func ExampleMiddleware() {
	e := echo.New()
	// The page and its socket share /chat: WebSocket requests are upgraded,
	// every other request reaches the page's handler.
	e.GET("/chat", func(c *echo.Context) error { return c.File("chat.html") },
		gwsechov5.Middleware(&gws.Upgrader{}, chat{}))
}
