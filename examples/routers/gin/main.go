// Command gin mounts gws on a Gin route.
//
//	go run ./examples/routers/gin
//	then connect to ws://127.0.0.1:3000/ws?name=alice
//
// It also shows that what Gin middleware puts in the request's context
// (a request ID here; a trace span from otelgin, the same way) is still
// there in the connection's handlers, as socket.Context.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gws "github.com/gwsgo/gws/core"
)

// handler greets each connection by the name CheckOrigin stored and the
// ID of the request that opened it, then echoes its messages;
// gws.NopHandler provides the events it ignores.
type handler struct{ gws.NopHandler }

func (handler) OnOpen(socket *gws.Conn) {
	name, _ := socket.Storage.Get("name")
	// socket.Context carries the request context's values, though the
	// request is over: with otelgin, trace.SpanFromContext(socket.Context)
	// is the handshake's span.
	id, _ := socket.Context.Value(requestIDKey{}).(string)
	_ = socket.Write(gws.OpcodeText, fmt.Appendf(nil, "hello, %s (request %s)", name, id))
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

// requestIDKey is the request context key of the request's ID.
type requestIDKey struct{}

// requestID is Gin middleware that puts the request's X-Request-ID, or
// one it makes up, in the request's context, as tracing middleware puts
// its span there.
func requestID() gin.HandlerFunc {
	var n atomic.Int64
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if id == "" {
			id = fmt.Sprint("req-", n.Add(1))
		}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey{}, id))
		c.Next()
	}
}

// newRouter returns the Gin router with the socket at /ws.
func newRouter() *gin.Engine {
	router := gin.Default()
	router.Use(requestID())
	router.GET("/ws", gwsgin.Handler(newUpgrader(), handler{}))
	return router
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	flag.Parse()
	log.Fatal(newRouter().Run(*addr))
}
