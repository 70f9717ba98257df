package servers

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/coder/websocket"
)

func init() {
	register(Library{Name: "coder", Title: "coder/websocket", WebSocket: true, Serve: serveCoder})
}

func serveCoder(ln net.Listener) error {
	opts := &websocket.AcceptOptions{
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	}
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		// The scenarios send up to 16 KiB; coder's default limit is 32 KiB,
		// raised anyway so that a larger -size still measures speed.
		c.SetReadLimit(1 << 20)
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
