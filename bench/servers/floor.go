package servers

import (
	"io"
	"net"
	"net/http"

	"github.com/valyala/fasthttp"
)

func init() {
	register(Library{Name: "floor-nethttp", Title: "net/http floor (hijack, fixed 101)", WebSocket: true, Serve: serveFloorHTTP, ConnRateOnly: true})
	register(Library{Name: "floor-fasthttp", Title: "fasthttp floor (hijack, fixed 101)", WebSocket: true, Serve: serveFloorFastHTTP, ConnRateOnly: true})
}

// fixed101 answers the one key every client in this module sends.
const fixed101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

// closeReply is a server's close frame with code 1000.
var closeReply = []byte{0x88, 0x02, 0x03, 0xe8}

// serveFloorHTTP is what any WebSocket library on net/http pays at least
// for a connection that opens and closes: it takes the request's
// connection over, writes a fixed 101 without looking at the request, and
// answers whatever the client sends next with a close frame. No library
// can accept connections faster per CPU-second on net/http, so the
// handshake scenario's ratios against it say how much room is left.
func serveFloorHTTP(ln net.Listener, _ Options) error {
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		go floorConn(nc)
	}))
}

// serveFloorFastHTTP is serveFloorHTTP on fasthttp, the floor for the
// servers on Fiber and fasthttp.
func serveFloorFastHTTP(ln net.Listener, _ Options) error {
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(floorConn)
	}}
	return srv.Serve(ln)
}

// floorConn writes the 101, waits for the client's first bytes (its close
// frame, which fits one read), replies with a close frame and closes.
func floorConn(nc net.Conn) {
	defer nc.Close()
	if _, err := io.WriteString(nc, fixed101); err != nil {
		return
	}
	var buf [128]byte
	if n, _ := nc.Read(buf[:]); n > 0 {
		nc.Write(closeReply)
	}
}
