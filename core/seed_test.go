package gws_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
)

// The seed README's chat handler, as its users wrote it (the endless for
// around Context.Done fixed, as DESIGN.md notes): it must compile and work
// against this API unchanged.
type seedHandler struct {
	sessions sync.Map
}

func (h *seedHandler) OnOpen(s *gws.Conn) {
	name, _ := s.Storage.Get("name")
	h.sessions.Store(name.(string), s)

	go func(socket *gws.Conn, key string) {
		<-socket.Context.Done()
		h.sessions.Delete(key)
	}(s, name.(string))
}

func (h *seedHandler) OnClose(socket *gws.Conn, code gws.Code, reason []byte) {}

func (h *seedHandler) OnMessage(socket *gws.Conn, m *gws.Message) {
	var request = struct {
		To      string `json:"to"`
		Message string `json:"message"`
	}{}
	json.Unmarshal(m.Bytes(), &request)
	defer m.Close()

	if receiver, ok := h.sessions.Load(request.To); ok {
		receiver.(*gws.Conn).Write(gws.OpcodeText, m.Bytes())
	}
}

func (h *seedHandler) OnError(socket *gws.Conn, err error) {}

func (h *seedHandler) OnPing(socket *gws.Conn, m []byte) {
	socket.WritePong(nil)
	_ = socket.SetDeadline(30 * time.Second)
}

func (h *seedHandler) OnPong(socket *gws.Conn, m []byte) {
	_ = socket.SetDeadline(30 * time.Second)
}

// seedUpgrader is the seed's Upgrader with its middleware.
func seedUpgrader(cost *int) *gws.Upgrader {
	var upgrader = gws.Upgrader{
		ServerOptions: &gws.ServerOptions{
			LogEnabled:      true,
			CompressEnabled: false,
		},
		CheckOrigin: func(r *gws.Request) bool {
			if name := r.URL.Query().Get("name"); name != "" {
				r.Storage.Put("name", name)
				return true
			}
			return false
		},
	}
	upgrader.Use(gws.Recovery(func(exception interface{}) {
		fmt.Printf("%v", exception)
	}))
	var mu sync.Mutex
	upgrader.Use(func(socket *gws.Conn, msg *gws.Message) {
		var t0 = time.Now().UnixNano()
		msg.Next(socket)
		var t1 = time.Now().UnixNano()
		mu.Lock()
		*cost += int((t1 - t0) / 1000000)
		mu.Unlock()
	})
	return &upgrader
}

// TestSeedChat runs the seed's chat room: caster sends lancer a message
// through the server.
func TestSeedChat(t *testing.T) {
	var cost int
	upgrader := seedUpgrader(&cost)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	handler := &seedHandler{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := gws.NewRequest(r)
		resp, err := upgrader.Negotiate(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
		conn, err := upgrader.Accept(nc, buffered, req, resp, handler)
		if err != nil {
			return
		}
		wg.Go(conn.ReadLoop)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	caster := seedClient(t, ln.Addr().String(), "caster")
	lancer := seedClient(t, ln.Addr().String(), "lancer")
	defer caster.Close()
	defer lancer.Close()
	msg := `{"to": "lancer", "message": "Hello! I am caster"}`
	caster.Write(maskedText(msg))
	lancer.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 2+len(msg))
	if _, err := io.ReadFull(lancer, got); err != nil || string(got[2:]) != msg {
		t.Fatalf("lancer got %q, %v", got, err)
	}
}

func seedClient(t *testing.T, addr, name string) net.Conn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(nc, "GET /ws?name=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", name, addr)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	// Read the 101 byte by byte, so no frame bytes are swallowed.
	var head strings.Builder
	b := make([]byte, 1)
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		if _, err := nc.Read(b); err != nil {
			t.Fatal(err)
		}
		head.WriteByte(b[0])
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head.String())), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("%s: handshake %v %v", name, resp, err)
	}
	return nc
}

// maskedText encodes a short text frame as a client must (masked; a zero
// key keeps the test readable and is as valid as any other).
func maskedText(s string) []byte {
	return append([]byte{0x81, 0x80 | byte(len(s)), 0, 0, 0, 0}, s...)
}
