package servers

import (
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

func init() {
	register(Library{Name: "gorilla", Title: "gorilla/websocket", WebSocket: true, Serve: serveGorilla, CanBroadcast: true, CanCompress: true})
}

func serveGorilla(ln net.Listener, o Options) error {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: o.Compress}
	var conns hub[*writeLocked[*websocket.Conn]]
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if o.Broadcast {
			broadcastPrepared(&conns, c, websocket.NewPreparedMessage)
			return
		}
		echoMessages(c)
	}))
}
