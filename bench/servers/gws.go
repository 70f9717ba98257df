//go:build !nogws

package servers

import (
	"net"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
)

func init() {
	register(Library{Name: "gws", Title: "gws (ours)", WebSocket: true, Serve: serveGws})
}

type gwsEcho struct{}

func (gwsEcho) OnOpen(*gws.Conn)                    {}
func (gwsEcho) OnClose(*gws.Conn, gws.Code, []byte) {}
func (gwsEcho) OnError(*gws.Conn, error)            {}
func (gwsEcho) OnPing(*gws.Conn, []byte)            {}
func (gwsEcho) OnPong(*gws.Conn, []byte)            {}

func (gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	_ = c.Write(m.Opcode, m.Bytes())
	m.Close()
}

// serveGws mounts gws on net/http with default options, as lxzan/gws,
// gorilla, coder and gobwas are.
func serveGws(ln net.Listener) error {
	u := &gws.Upgrader{
		ServerOptions: &gws.ServerOptions{},
		CheckOrigin:   func(*gws.Request) bool { return true },
	}
	return serveHTTP(ln, gwshttp.Handler(u, gwsEcho{}))
}
