//go:build !nogws

package servers

import (
	"net"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	"github.com/gwsgo/gws/bench/internal/wire"
	gwsklauspost "github.com/gwsgo/gws/compress/klauspost"
	gws "github.com/gwsgo/gws/core"
)

func init() {
	register(Library{Name: "gws", Title: "gws (ours)", WebSocket: true, Serve: serveGws, CanBroadcast: true, CanCompress: true})
	register(Library{Name: "gws-klauspost", Title: "gws + klauspost", WebSocket: true, Serve: serveGwsKlauspost, CanCompress: true, CompressOnly: true})
	register(Library{Name: "gws-poller", Title: "gws, poller mode", WebSocket: true, Serve: serveGwsPoller, CanBroadcast: true, CanCompress: true})
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

// gwsBroadcast keeps its connections in a Sessions registry, which drops
// each one when it ends, and sends every message with a Broadcaster, which
// encodes it once for all of them.
type gwsBroadcast struct {
	gws.NopHandler
	sessions gws.Sessions[*gws.Conn]
}

func (h *gwsBroadcast) OnOpen(c *gws.Conn) {
	h.sessions.Store(c, c)
	_ = c.Write(gws.OpcodeBinary, []byte(wire.Welcome))
}

func (h *gwsBroadcast) OnMessage(_ *gws.Conn, m *gws.Message) {
	h.broadcast(m.Opcode, m.Bytes())
	// The payload must outlive the Broadcaster, so the message is closed
	// after it.
	m.Close()
}

func (h *gwsBroadcast) broadcast(op gws.Opcode, payload []byte) {
	b := gws.NewBroadcaster(op, payload)
	h.sessions.Range(func(_, c *gws.Conn) bool {
		_ = b.Broadcast(c)
		return true
	})
	b.Close()
}

// gwsSetup is the upgrader and handler for o, the same on net/http and on
// Fiber: default options but for compression, which is off by default.
func gwsSetup(o Options) (*gws.Upgrader, gws.EventHandler) {
	u := &gws.Upgrader{
		ServerOptions: &gws.ServerOptions{CompressEnabled: o.Compress},
		CheckOrigin:   func(*gws.Request) bool { return true },
	}
	if o.Broadcast {
		return u, &gwsBroadcast{}
	}
	return u, gwsEcho{}
}

// serveGws mounts gws on net/http, as lxzan/gws, gorilla, coder and gobwas
// are.
func serveGws(ln net.Listener, o Options) error {
	if o.Room {
		return serveGwsRoom(ln, o)
	}
	u, h := gwsSetup(o)
	return serveHTTP(ln, gwshttp.Handler(u, h))
}

// serveGwsKlauspost is serveGws compressing with klauspost/compress, the
// codec lxzan/gws uses, through compress/klauspost.
func serveGwsKlauspost(ln net.Listener, o Options) error {
	u, h := gwsSetup(o)
	u.ServerOptions.CompressCodec = gwsklauspost.Codec{}
	return serveHTTP(ln, gwshttp.Handler(u, h))
}

// serveGwsPoller is serveGws with ServerOptions.Poller: idle connections
// wait in gws's epoll set instead of on a goroutine each.
func serveGwsPoller(ln net.Listener, o Options) error {
	u, h := gwsSetup(o)
	u.ServerOptions.Poller = true
	return serveHTTP(ln, gwshttp.Handler(u, h))
}
