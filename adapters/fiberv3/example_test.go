package gwsfiberv3_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"

	"github.com/gofiber/fiber/v3"
	gwsfiberv3 "github.com/gwsgo/gws/adapters/fiberv3"
	gws "github.com/gwsgo/gws/core"
)

// chat answers every message with the user and room it came from; the
// user was set by Fiber middleware with c.Locals, the room is a route
// parameter, and both were copied into Storage at upgrade time.
type chat struct{ gws.NopHandler }

func (chat) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	user, ok := c.Storage.Get("user")
	if !ok {
		user = "a guest"
	}
	room, _ := c.Storage.Get(gws.ParamKey("room"))
	c.WriteString(fmt.Sprintf("%s in %s: %s", user, room, m.Bytes()))
}

// listen runs app on a loopback port until stop is called.
func listen(app *fiber.App) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	return ln.Addr().String(), func() { app.Shutdown() }
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
	addr, stop := listen(app)
	defer stop()

	say("ws://"+addr+"/rooms/kitchen/ws?token=caster", nil, "hello")
	// Output: caster in kitchen: hello
}

func ExampleMiddleware() {
	app := fiber.New()
	// The page and its socket share one path: WebSocket requests are
	// upgraded, every other request reaches the page's handler.
	app.Get("/rooms/:room", gwsfiberv3.Middleware(&gws.Upgrader{}, chat{}), func(c fiber.Ctx) error {
		return c.SendString("the page of " + c.Params("room"))
	})
	addr, stop := listen(app)
	defer stop()

	get("http://" + addr + "/rooms/hall")
	say("ws://"+addr+"/rooms/hall", nil, "hi")
	// Output:
	// the page of hall
	// a guest in hall: hi
}

// client prints the first message it receives, then closes.
type client struct {
	gws.NopHandler
	done chan struct{}
}

func (c client) OnMessage(conn *gws.Conn, m *gws.Message) {
	defer m.Close()
	fmt.Printf("%s\n", m.Bytes())
	conn.WriteClose(gws.CloseNormal, nil)
}

func (c client) OnClose(*gws.Conn, gws.Code, []byte) { close(c.done) }

// say sends text to the WebSocket at url and prints the answer.
func say(url string, header http.Header, text string) {
	c := client{done: make(chan struct{})}
	conn, _, err := gws.Dial(context.Background(), url, c, &gws.ClientOptions{Header: header})
	if err != nil {
		log.Fatal(err)
	}
	conn.WriteString(text)
	<-c.done
}

// get prints the body of the page at url.
func get(url string) {
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(page))
}
