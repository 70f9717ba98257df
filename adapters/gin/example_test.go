package gwsgin_test

import (
	"net/http"

	"github.com/gin-gonic/gin"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gws "github.com/gwsgo/gws/core"
)

// chat handles messages only; gws.NopHandler supplies the other events.
type chat struct{ gws.NopHandler }

func (chat) OnMessage(c *gws.Conn, m *gws.Message) {
	user, _ := c.Storage.Get("user") // copied from c.Set at upgrade time
	c.Write(gws.OpcodeText, append([]byte(user.(string)+": "), m.Bytes()...))
	m.Close()
}

func ExampleHandler() {
	router := gin.Default()
	authorized := router.Group("/", func(c *gin.Context) {
		user, _, ok := c.Request.BasicAuth()
		if !ok {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.Set("user", user)
	})
	authorized.GET("/rooms/:room/ws", gwsgin.Handler(&gws.Upgrader{}, chat{}))
	// In the handler, c.Storage.Get("user") and c.Storage.Get("param:room").
}

func ExampleMiddleware() {
	router := gin.Default()
	// The page and its socket share /chat: WebSocket requests are upgraded,
	// every other request reaches the page's handler.
	router.GET("/chat", gwsgin.Middleware(&gws.Upgrader{}, chat{}), func(c *gin.Context) {
		c.File("chat.html")
	})
}
