//go:build !nogws

package servers

import (
	"net"
	"strconv"
	"sync/atomic"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	"github.com/gwsgo/gws/bench/internal/wire"
	gwsnats "github.com/gwsgo/gws/brokers/nats"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/core/rooms"
)

// roomName is the one room of the room scenario.
const roomName = "bench"

// gwsRoom is the broadcast server on a rooms.Hub: each connection is a
// user of its own and joins the room; each message is published to the
// room, which reaches its members on every node once per node.
type gwsRoom struct {
	gws.NopHandler
	hub    *rooms.Hub
	prefix string // this node's address, so user names are unique in the cluster
	users  atomic.Int64
}

func (h *gwsRoom) OnOpen(c *gws.Conn) {
	_ = h.hub.Add(h.prefix+strconv.FormatInt(h.users.Add(1), 10), c)
	_ = h.hub.Join(roomName, c)
	// Joined: the node has its subscription and every node can reach c.
	_ = c.Write(gws.OpcodeBinary, []byte(wire.Welcome))
}

func (h *gwsRoom) OnMessage(_ *gws.Conn, m *gws.Message) {
	_ = h.hub.Publish(roomName, m.Opcode, m.Bytes())
	m.Close()
}

// serveGwsRoom runs a node of the room scenario on ln.
func serveGwsRoom(ln net.Listener, o Options) error {
	var broker rooms.Broker
	if o.Broker != "" {
		b, err := gwsnats.Connect(o.Broker)
		if err != nil {
			return err
		}
		defer b.Close()
		broker = b
	}
	hub, err := rooms.New(&rooms.Options{Broker: broker, Node: ln.Addr().String()})
	if err != nil {
		return err
	}
	defer hub.Close()
	u := &gws.Upgrader{CheckOrigin: func(*gws.Request) bool { return true }}
	return serveHTTP(ln, gwshttp.Handler(u, &gwsRoom{hub: hub, prefix: ln.Addr().String() + "/"}))
}
