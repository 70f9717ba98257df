package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

// TestTLSHTTP2 runs the chat as `GODEBUG=http2xconnect=1 go run
// ./examples/chat -tls` does: two users join over HTTP/2 streams of one
// connection, one's message reaches the other, and the server's graceful
// shutdown ends both sockets (an HTTP/2 WebSocket holds its handler,
// which http.Server.Shutdown waits for).
func TestTLSHTTP2(t *testing.T) {
	if !routertest.XConnect(t, true) {
		return
	}
	*useTLS = true
	defer func() { *useTLS = false }()
	addr, stop := startChat(t)

	h2, err := rawclient.DialH2(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	alice, _, err := h2.Dial("/ws?name=alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, _, err := h2.Dial("/ws?name=bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	// bob's OnOpen may not have added him to the hub when alice writes,
	// and a message to everyone reaches those there: send until he hears.
	hi := rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: []byte(`{"message": "hi over HTTP/2"}`)}
	for deadline := time.Now().Add(wait); ; {
		if err := alice.WriteFrame(hi); err != nil {
			t.Fatal(err)
		}
		err := bob.WaitReadable(200 * time.Millisecond)
		if err == nil {
			var f rawclient.Frame
			if f, err = bob.ReadFrame(wait); err == nil && bytes.Contains(f.Payload, []byte("hi over HTTP/2")) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob never heard alice: %v", err)
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	for _, c := range []*rawclient.Conn{alice, bob} {
		for {
			f, err := c.ReadFrame(wait)
			if err != nil {
				t.Fatalf("no close 1001 at shutdown: %v", err)
			}
			if f.Opcode == rawclient.OpClose {
				c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: f.Payload[:2]})
				if code := int(f.Payload[0])<<8 | int(f.Payload[1]); code != 1001 {
					t.Errorf("closed with %d at shutdown, want 1001", code)
				}
				break
			}
		}
		if err := c.WaitClosed(wait); err != nil {
			t.Error(err)
		}
	}
	if err := <-stopped; err != nil {
		t.Errorf("run: %v", err)
	}
}
