package gws_test

import (
	"bufio"
	"context"
	"encoding/binary"
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
// around Context.Done fixed, as DESIGN.md notes; its heartbeat snippets'
// SetDeadline takes a time.Time now, as net.Conn's does). examples/seed
// builds the seed's whole program unchanged.
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
	_ = socket.SetDeadline(time.Now().Add(30 * time.Second))
}

func (h *seedHandler) OnPong(socket *gws.Conn, m []byte) {
	_ = socket.SetDeadline(time.Now().Add(30 * time.Second))
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

// TestSeedChat runs the seed's chat room as its main mounts it, with
// Upgrade in a net/http handler: caster sends lancer a message through the
// server, and a request without a name is refused. Cancelling the context
// given to Upgrade closes the connections with 1001.
func TestSeedChat(t *testing.T) {
	var cost int
	upgrader := seedUpgrader(&cost)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	handler := &seedHandler{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		upgrader.Upgrade(ctx, w, r, handler)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()

	if resp := seedHandshake(t, addr, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("request without a name: status %d", resp.StatusCode)
	}
	caster := seedClient(t, addr, "caster")
	lancer := seedClient(t, addr, "lancer")
	defer caster.Close()
	defer lancer.Close()
	msg := `{"to": "lancer", "message": "Hello! I am caster"}`
	got := make([]byte, 2+len(msg))
	for deadline := time.Now().Add(5 * time.Second); ; {
		// lancer's OnOpen may not have stored it yet, and the seed drops
		// messages to unknown names: send until one arrives.
		caster.Write(maskedText(msg))
		lancer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := io.ReadFull(lancer, got[:1]); err == nil {
			lancer.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(lancer, got[1:]); err != nil {
				t.Fatalf("lancer got %q, %v", got, err)
			}
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("lancer got nothing: %v", err)
		}
	}
	if string(got[2:]) != msg {
		t.Fatalf("lancer got %q", got)
	}

	cancel()
	for _, nc := range []net.Conn{caster, lancer} {
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		head := make([]byte, 4)
		_, err := io.ReadFull(nc, head[:2])
		for err == nil && head[0] == 0x81 {
			// A copy of the message sent again while lancer was joining.
			if _, err = io.CopyN(io.Discard, nc, int64(head[1])); err == nil {
				_, err = io.ReadFull(nc, head[:2])
			}
		}
		if err == nil {
			_, err = io.ReadFull(nc, head[2:])
		}
		if err != nil || head[0] != 0x88 || binary.BigEndian.Uint16(head[2:]) != uint16(gws.CloseGoingAway) {
			t.Fatalf("after cancel: % x, %v; want a close frame with 1001", head, err)
		}
	}
	caster.Close()
	lancer.Close()
	stop, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := upgrader.Shutdown(stop); err != nil {
		t.Fatal(err)
	}
}

// seedHandshake sends an opening handshake with ?name=name, or none when
// name is empty, and returns the response.
func seedHandshake(t *testing.T, addr, name string) *http.Response {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	query := ""
	if name != "" {
		query = "?name=" + name
	}
	fmt.Fprintf(nc, "GET /ws%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", query, addr)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
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
