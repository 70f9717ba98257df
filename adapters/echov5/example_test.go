package gwsechov5_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	gwsechov5 "github.com/gwsgo/gws/adapters/echov5"
	gws "github.com/gwsgo/gws/core"
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

// chat answers every message with the user and room it came from: the
// user was copied into Storage by CheckOrigin, the room is a route
// parameter the adapter copied.
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
	srv := httptest.NewServer(e)
	defer srv.Close()

	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/kitchen/ws"
	say(url, http.Header{"Authorization": {"Bearer caster"}}, "hello")
	// Output: user-of-caster in kitchen: hello
}

func ExampleMiddleware() {
	e := echo.New()
	// The page and its socket share one path: WebSocket requests are
	// upgraded, every other request reaches the page's handler.
	e.GET("/rooms/:room", func(c *echo.Context) error {
		return c.String(http.StatusOK, "the page of "+c.Param("room"))
	}, gwsechov5.Middleware(&gws.Upgrader{}, chat{}))
	srv := httptest.NewServer(e)
	defer srv.Close()

	get(srv.URL + "/rooms/hall")
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
