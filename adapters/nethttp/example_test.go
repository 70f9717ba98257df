package gwshttp_test

import (
	"log"
	"net/http"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
)

// chat handles messages only; gws.NopHandler supplies the other events.
type chat struct{ gws.NopHandler }

func (chat) OnMessage(c *gws.Conn, m *gws.Message) { c.Write(m.Opcode, m.Bytes()); m.Close() }

func ExampleHandler() {
	upgrader := &gws.Upgrader{
		CheckOrigin: func(r *gws.Request) bool {
			r.Storage.Put("name", r.URL.Query().Get("name"))
			return true
		},
	}
	http.Handle("/ws", gwshttp.Handler(upgrader, chat{}))
}

func ExampleMiddleware() {
	page := http.FileServer(http.Dir("static"))
	// The page and its socket share "/": WebSocket requests are upgraded,
	// every other request reaches the file server.
	http.Handle("/", gwshttp.Middleware(&gws.Upgrader{}, chat{})(page))
}

func ExampleUpgrade() {
	upgrader := &gws.Upgrader{}
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") == "" {
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		conn, err := gwshttp.Upgrade(upgrader, w, r, chat{})
		if err != nil {
			log.Printf("upgrade: %v", err) // the request has been answered already
			return
		}
		conn.ReadLoop()
	})
}
