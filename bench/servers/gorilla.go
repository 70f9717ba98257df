package servers

import (
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

func init() {
	register(Library{Name: "gorilla", Title: "gorilla/websocket", WebSocket: true, Serve: serveGorilla})
}

func serveGorilla(ln net.Listener) error {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		// ReadMessage and WriteMessage are gorilla's documented echo; the
		// server-side WriteMessage writes one frame without copying twice.
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, p); err != nil {
				return
			}
		}
	}))
}
