package servers

import (
	"net"
	"net/http"

	"github.com/gwsgo/gws/bench/internal/wire"
	lxzan "github.com/lxzan/gws"
)

func init() {
	register(Library{Name: "lxzan", Title: "lxzan/gws", WebSocket: true, Serve: serveLxzan, CanBroadcast: true, CanCompress: true})
}

type lxzanEcho struct{ lxzan.BuiltinEventHandler }

func (lxzanEcho) OnMessage(c *lxzan.Conn, m *lxzan.Message) {
	_ = c.WriteMessage(m.Opcode, m.Bytes())
	m.Close()
}

// lxzanBroadcast sends every message with lxzan's Broadcaster, which
// encodes it once and queues it on every connection's write queue.
type lxzanBroadcast struct {
	lxzan.BuiltinEventHandler
	conns hub[*lxzan.Conn]
}

func (h *lxzanBroadcast) OnOpen(c *lxzan.Conn) {
	h.conns.add(c)
	_ = c.WriteMessage(lxzan.OpcodeBinary, []byte(wire.Welcome))
}

func (h *lxzanBroadcast) OnClose(c *lxzan.Conn, _ error) { h.conns.remove(c) }

func (h *lxzanBroadcast) OnMessage(_ *lxzan.Conn, m *lxzan.Message) {
	b := lxzan.NewBroadcaster(m.Opcode, m.Bytes())
	h.conns.each(func(c *lxzan.Conn) { _ = b.Broadcast(c) })
	b.Close()
	m.Close()
}

func serveLxzan(ln net.Listener, o Options) error {
	opt := &lxzan.ServerOption{}
	// Its defaults otherwise: no context takeover, level 1, 512-byte
	// threshold, as gws's.
	opt.PermessageDeflate.Enabled = o.Compress
	var h lxzan.Event = lxzanEcho{}
	if o.Broadcast {
		h = &lxzanBroadcast{}
	}
	up := lxzan.NewUpgrader(h, opt)
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
