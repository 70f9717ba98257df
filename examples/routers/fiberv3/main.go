// Command fiberv3 mounts gws on a Fiber v3 route.
//
//	go run ./examples/routers/fiberv3
//	then connect to ws://127.0.0.1:3000/ws?name=alice
package main

import (
	"flag"
	"fmt"
	"log"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/logger"
	"github.com/gofiber/fiber/v3/middleware/recover"
	gwsfiberv3 "github.com/gwsgo/gws/adapters/fiberv3"
	gws "github.com/gwsgo/gws/core"
)

// handler greets each connection by the name CheckOrigin stored, then
// echoes its messages; gws.NopHandler provides the events it ignores.
type handler struct{ gws.NopHandler }

func (handler) OnOpen(socket *gws.Conn) {
	name, _ := socket.Storage.Get("name")
	_ = socket.Write(gws.OpcodeText, fmt.Appendf(nil, "hello, %s", name))
}

func (handler) OnMessage(socket *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = socket.Write(m.Opcode, m.Bytes())
}

// newUpgrader accepts connections that give a ?name= and keeps the name
// for the connection's life.
func newUpgrader() *gws.Upgrader {
	return &gws.Upgrader{
		CheckOrigin: func(r *gws.Request) bool {
			name := r.URL.Query().Get("name")
			r.Storage.Put("name", name)
			return name != ""
		},
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	flag.Parse()
	app := fiber.New()
	app.Use(logger.New(), recover.New())
	app.Get("/ws", gwsfiberv3.Handler(newUpgrader(), handler{}))
	log.Fatal(app.Listen(*addr))
}
