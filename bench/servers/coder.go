package servers

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/coder/websocket"

	"github.com/gwsgo/gws/bench/internal/wire"
)

func init() {
	register(Library{Name: "coder", Title: "coder/websocket", WebSocket: true, Serve: serveCoder, CanBroadcast: true, CanCompress: true})
}

func serveCoder(ln net.Listener, o Options) error {
	opts := &websocket.AcceptOptions{
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	}
	if o.Compress {
		// Its mode for what the client asks (no context takeover either
		// way); threshold and level are its defaults.
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	var conns hub[*websocket.Conn]
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		// The scenarios send up to 16 KiB; coder's default limit is 32 KiB,
		// raised anyway so that a larger -size still measures speed.
		c.SetReadLimit(1 << 20)
		if o.Broadcast {
			coderBroadcast(&conns, c)
			return
		}
		ctx := context.Background()
		// Reader, Writer and io.Copy are coder's documented echo: the
		// payload streams through without a per-message allocation.
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			wr, err := c.Writer(ctx, typ)
			if err != nil {
				return
			}
			if _, err := io.Copy(wr, rd); err != nil {
				return
			}
			if err := wr.Close(); err != nil {
				return
			}
		}
	}))
}

// coderBroadcast writes each message to every connection with Write, which
// is safe for concurrent use; coder has no way to encode a message once.
func coderBroadcast(conns *hub[*websocket.Conn], c *websocket.Conn) {
	ctx := context.Background()
	conns.add(c)
	defer conns.remove(c)
	if err := c.Write(ctx, websocket.MessageBinary, []byte(wire.Welcome)); err != nil {
		return
	}
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		conns.each(func(to *websocket.Conn) { _ = to.Write(ctx, typ, p) })
	}
}
