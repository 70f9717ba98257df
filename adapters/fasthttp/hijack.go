package gwsfasthttp

import (
	"bytes"
	"context"
	"net"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/valyala/fasthttp"
)

// hijackHandler returns the handler fasthttp calls with the connection
// once the request handler has returned.
func hijackHandler(u *gws.Upgrader, resp *gws.Response, h gws.EventHandler) fasthttp.HijackHandler {
	return func(nc net.Conn) {
		if own, buffered, ok := detach(nc); ok {
			// Under Server.KeepHijackedConns this closes fasthttp's
			// descriptor; otherwise it does nothing and fasthttp closes it
			// when we return. Either way own keeps the socket open.
			nc.Close()
			u.Accept(context.Background(), own, buffered, resp, h)
			return
		}
		// The connection cannot outlive this handler: with
		// KeepHijackedConns off, fasthttp closes it as soon as we return.
		// fasthttp's hijacked connection reads its own buffer first.
		if c, err := u.Accept(context.Background(), nc, nil, resp, h); err == nil {
			<-c.Context.Done()
		}
	}
}

// longAgo is a read deadline that has passed, so that a read returns what
// is buffered without waiting for the network.
var longAgo = time.Unix(1, 0)

// detach takes the connection away from fasthttp: it returns a duplicate
// of the socket, which fasthttp's Close does not affect, and the bytes
// fasthttp had read past the request (a client may send its first frame
// right behind the handshake). ok is false when the connection has no file
// descriptor to duplicate, as with TLS; nothing has been read from nc then.
func detach(nc net.Conn) (own net.Conn, buffered []byte, ok bool) {
	raw := nc
	if u, isHijack := nc.(interface{ UnsafeConn() net.Conn }); isHijack {
		raw = u.UnsafeConn()
	}
	own = dupConn(raw)
	if own == nil {
		return nil, nil, false
	}
	// nc reads from fasthttp's buffer first; with a deadline in the past
	// the read after the buffer runs dry fails at once, before touching the
	// socket, whose unread bytes own still sees. Whatever else ends the
	// read, own will meet it too.
	if err := raw.SetReadDeadline(longAgo); err != nil {
		own.Close()
		return nil, nil, false
	}
	// Usually nothing is buffered: read onto the stack first, so that
	// only bytes that are there cost an allocation.
	var first [512]byte
	n, err := nc.Read(first[:])
	if n == 0 || err != nil {
		return own, nil, true
	}
	b := bytes.NewBuffer(append([]byte(nil), first[:n]...))
	b.ReadFrom(nc)
	return own, b.Bytes(), true
}
