package servers

import (
	"io"
	"math/bits"
	"net"
	"net/http"
	"sync"

	"github.com/gobwas/ws"

	"github.com/gwsgo/gws/bench/internal/wire"
)

func init() {
	// gobwas/ws compresses only through its wsflate package, which the
	// application wires into its own read and write loops: left out of
	// the compression scenarios.
	register(Library{Name: "gobwas", Title: "gobwas/ws", WebSocket: true, Serve: serveGobwas, CanBroadcast: true})
}

// serveGobwas follows gobwas's own low-level echo (read a header, read the
// payload, unmask, write it back), which is how the library is meant to be
// used when memory per connection matters: nothing but a 12-byte header
// buffer is held while a connection waits. The only change to the README's
// loop is that header and payload go out in one write from a pooled buffer
// instead of two, which any user who measured would do.
func serveGobwas(ln net.Listener, o Options) error {
	var conns hub[*lockedConn]
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		var rd io.Reader = conn
		if rw.Reader.Buffered() > 0 {
			// Bytes the client sent right behind its request are in
			// net/http's buffer, not on the socket.
			rd = io.MultiReader(rw.Reader, conn)
		}
		// On a goroutine of its own, as gobwas's README does, so that
		// net/http's goroutine and its grown stack are freed.
		go func() {
			defer conn.Close()
			if o.Broadcast {
				gobwasBroadcast(&conns, conn, rd)
			} else {
				gobwasEcho(conn, rd)
			}
		}()
	}))
}

func gobwasEcho(conn net.Conn, rd io.Reader) {
	hbuf := make([]byte, 2, ws.MaxHeaderSize-2)
	for {
		h, bp, b, err := gobwasReadFrame(rd, hbuf)
		if err != nil {
			return
		}
		_, err = conn.Write(b)
		putBuf(bp)
		if err != nil || h.OpCode == ws.OpClose {
			return
		}
	}
}

// gobwasBroadcast reads as gobwasEcho does and encodes each data frame once,
// header and payload in one buffer, which it writes to every connection.
// Control frames are answered to their sender alone.
func gobwasBroadcast(conns *hub[*lockedConn], conn net.Conn, rd io.Reader) {
	lc := &lockedConn{Conn: conn}
	conns.add(lc)
	defer conns.remove(lc)
	if lc.send(wire.WelcomeFrame) != nil {
		return
	}
	hbuf := make([]byte, 2, ws.MaxHeaderSize-2)
	for {
		h, bp, b, err := gobwasReadFrame(rd, hbuf)
		if err != nil {
			return
		}
		if h.OpCode.IsControl() {
			err = lc.send(b)
		} else {
			conns.each(func(to *lockedConn) { _ = to.send(b) })
		}
		putBuf(bp)
		if err != nil || h.OpCode == ws.OpClose {
			return
		}
	}
}

// gobwasReadFrame reads the next frame and returns it as the server sends
// it back, unmasked and a ping made a pong, in b: a buffer from getBuf
// (bp, for putBuf) with the header encoded in front of the payload, so the
// frame leaves in one write.
func gobwasReadFrame(rd io.Reader, hbuf []byte) (h ws.Header, bp *[]byte, b []byte, err error) {
	if h, err = ws.ReadHeaderBuffer(rd, hbuf); err != nil {
		return h, nil, nil, err
	}
	mask, masked := h.Mask, h.Masked
	h.Masked = false
	hs := ws.HeaderSize(h)
	n := int(h.Length)
	bp = getBuf(hs + n)
	b = (*bp)[:hs+n]
	if _, err = io.ReadFull(rd, b[hs:]); err != nil {
		putBuf(bp)
		return h, nil, nil, err
	}
	if masked {
		ws.Cipher(b[hs:], mask, 0)
	}
	if h.OpCode == ws.OpPing {
		h.OpCode = ws.OpPong
	}
	sw := sliceWriter{b: b[:0]}
	_ = ws.WriteHeader(&sw, h)
	return h, bp, b, nil
}

// sliceWriter lets ws.WriteHeader encode into the front of a buffer that
// already holds the payload, so the frame leaves in one system call.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// Pools by power of two from 64 B to 1 MiB; larger frames are rare here and
// are allocated.
var bufPools [21]sync.Pool

func poolIndex(n int) int {
	if n <= 64 {
		return 6
	}
	return bits.Len(uint(n - 1))
}

func getBuf(n int) *[]byte {
	i := poolIndex(n)
	if i >= len(bufPools) {
		b := make([]byte, n)
		return &b
	}
	if bp, ok := bufPools[i].Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 1<<i)
	return &b
}

func putBuf(bp *[]byte) {
	c := cap(*bp)
	i := poolIndex(c)
	if i < len(bufPools) && 1<<i == c {
		bufPools[i].Put(bp)
	}
}
