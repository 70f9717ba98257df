package gwsfiberv3_test

import (
	"log"

	"github.com/gofiber/fiber/v3"
	gwsfiberv3 "github.com/gwsgo/gws/adapters/fiberv3"
	gws "github.com/gwsgo/gws/core"
)

// chat handles messages only; gws.NopHandler supplies the other events.
type chat struct{ gws.NopHandler }

func (chat) OnMessage(c *gws.Conn, m *gws.Message) {
	user, _ := c.Storage.Get("user") // copied from c.Locals at upgrade time
	c.Write(gws.OpcodeText, append([]byte(user.(string)+": "), m.Bytes()...))
	m.Close()
}

func ExampleHandler() {
	app := fiber.New()
	app.Use(func(c fiber.Ctx) error {
		user := c.Query("token") // a real app checks it
		if user == "" {
			return fiber.ErrUnauthorized
		}
		fiber.Locals(c, "user", user)
		return c.Next()
	})
	app.Get("/rooms/:room/ws", gwsfiberv3.Handler(&gws.Upgrader{}, chat{}))
	// In the handler, c.Storage.Get("user") and c.Storage.Get("param:room").
	log.Fatal(app.Listen(":3000"))
}

func ExampleMiddleware() {
	app := fiber.New()
	// The page and its socket share /chat: WebSocket requests are upgraded,
	// every other request reaches the page's handler.
	app.Get("/chat", gwsfiberv3.Middleware(&gws.Upgrader{}, chat{}), func(c fiber.Ctx) error {
		return c.SendFile("chat.html")
	})
}
