package servers

import (
	"net"
	"net/http"

	lxzan "github.com/lxzan/gws"
)

func init() {
	register(Library{Name: "lxzan", Title: "lxzan/gws", WebSocket: true, Serve: serveLxzan})
}

type lxzanEcho struct{ lxzan.BuiltinEventHandler }

func (lxzanEcho) OnMessage(c *lxzan.Conn, m *lxzan.Message) {
	_ = c.WriteMessage(m.Opcode, m.Bytes())
	m.Close()
}

func serveLxzan(ln net.Listener) error {
	up := lxzan.NewUpgrader(lxzanEcho{}, &lxzan.ServerOption{})
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		// ReadLoop returns when the connection ends; running it on the
		// handler's goroutine (as lxzan's README does with go) costs the
		// same one goroutine per connection.
		c.ReadLoop()
	}))
}
