package servers

import (
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/gwsgo/gws/bench/internal/wire"
)

func init() {
	register(Library{Name: "gorilla", Title: "gorilla/websocket", WebSocket: true, Serve: serveGorilla, CanBroadcast: true, CanCompress: true})
}

func serveGorilla(ln net.Listener, o Options) error {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: o.Compress}
	var conns hub[*gorillaConn]
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if o.Broadcast {
			gorillaBroadcast(&conns, c)
			return
		}
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

// gorillaConn adds the lock gorilla asks for: one writer at a time.
type gorillaConn struct {
	mu sync.Mutex
	*websocket.Conn
}

// gorillaBroadcast is gorilla's chat example with a PreparedMessage, which
// frames (and would compress) the message once for every connection.
func gorillaBroadcast(conns *hub[*gorillaConn], c *websocket.Conn) {
	gc := &gorillaConn{Conn: c}
	conns.add(gc)
	defer conns.remove(gc)
	gc.mu.Lock()
	err := c.WriteMessage(websocket.BinaryMessage, []byte(wire.Welcome))
	gc.mu.Unlock()
	for err == nil {
		var op int
		var p []byte
		if op, p, err = c.ReadMessage(); err != nil {
			return
		}
		var pm *websocket.PreparedMessage
		if pm, err = websocket.NewPreparedMessage(op, p); err != nil {
			return
		}
		conns.each(func(to *gorillaConn) {
			to.mu.Lock()
			_ = to.WritePreparedMessage(pm)
			to.mu.Unlock()
		})
	}
}
