// Command echov5 mounts gws on an Echo v5 route.
//
//	go run ./examples/routers/echov5
//	then connect to ws://127.0.0.1:3000/ws?name=alice
package main

import (
	"flag"
	"fmt"
	"log"

	gwsechov5 "github.com/gwsgo/gws/adapters/echov5"
	gws "github.com/gwsgo/gws/core"
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
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
	e := echo.New()
	e.Use(middleware.RequestLogger(), middleware.Recover())
	e.GET("/ws", gwsechov5.Handler(newUpgrader(), handler{}))
	// Start returns nil once Ctrl-C (SIGINT or SIGTERM) has shut it down.
	if err := e.Start(*addr); err != nil {
		log.Fatal(err)
	}
}
