package gwsgin_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gws "github.com/gwsgo/gws/core"
)

// chat answers every message with the user and room it came from; the
// user was set by Gin middleware with c.Set, the room is a route
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

func ExampleHandler() {
	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	authorized := router.Group("/", func(c *gin.Context) {
		user, _, ok := c.Request.BasicAuth()
		if !ok {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.Set("user", user)
	})
	authorized.GET("/rooms/:room/ws", gwsgin.Handler(&gws.Upgrader{}, chat{}))
	srv := httptest.NewServer(router)
	defer srv.Close()

	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/kitchen/ws"
	say(url, http.Header{"Authorization": {"Basic Y2FzdGVyOnB3"}}, "hello") // caster:pw
	// Output: caster in kitchen: hello
}

func ExampleMiddleware() {
	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	// The page and its socket share one path: WebSocket requests are
	// upgraded, every other request reaches the page's handler.
	router.GET("/rooms/:room", gwsgin.Middleware(&gws.Upgrader{}, chat{}), func(c *gin.Context) {
		c.String(http.StatusOK, "the page of %s", c.Param("room"))
	})
	srv := httptest.NewServer(router)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/rooms/hall")
	if err != nil {
		log.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(page))
	say("ws"+strings.TrimPrefix(srv.URL, "http")+"/rooms/hall", nil, "hi")
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
