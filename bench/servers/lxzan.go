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
		// On a goroutine of its own, as lxzan's README does, so that the
		// handler returns and net/http's goroutine and its grown stack are
		// freed while the connection lives on.
		go c.ReadLoop()
	}))
}
