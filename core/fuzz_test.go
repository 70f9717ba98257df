package gws

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// countingHandler counts events and checks their order.
type countingHandler struct {
	t      *testing.T
	opened int
	closed int
}

func (h *countingHandler) OnOpen(*Conn) { h.opened++ }
func (h *countingHandler) OnClose(*Conn, Code, []byte) {
	h.closed++
}
func (h *countingHandler) OnError(*Conn, error) { h.check() }
func (h *countingHandler) OnPing(*Conn, []byte) { h.check() }
func (h *countingHandler) OnPong(*Conn, []byte) { h.check() }
func (h *countingHandler) OnMessage(c *Conn, m *Message) {
	h.check()
	c.Write(m.Opcode, m.Bytes())
	m.Close()
}

func (h *countingHandler) check() {
	if h.opened != 1 || h.closed != 0 {
		h.t.Fatalf("event out of order: opened %d closed %d", h.opened, h.closed)
	}
}

// FuzzReadLoop feeds arbitrary bytes to a server connection as if a client
// sent them: whatever arrives, the read loop must not panic, must deliver
// OnOpen first and OnClose exactly once, and must end.
func FuzzReadLoop(f *testing.F) {
	f.Add(encode(0x81, []byte("hello")))
	f.Add(append(encode(0x01, []byte("he")), encode(0x80, []byte("llo"))...))
	f.Add(append(encode(0x01, []byte("κ")), encode(0x89, []byte("p"))...))
	f.Add(encode(0x88, closePayload(CloseNormal, "bye")))
	f.Add(encode(0x81, []byte("\xed\xa0\x80")))
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, input []byte) {
		server, client := net.Pipe()
		u := &Upgrader{ServerOptions: &ServerOptions{ReadMaxPayloadSize: 1 << 16, CloseTimeout: 50 * time.Millisecond, WriteTimeout: time.Second}}
		h := &countingHandler{t: t}
		g := u.group()
		c := newConn(g, server, nil, nil, nil, h, true)
		g.track(c)
		go io.Copy(io.Discard, client)
		go func() {
			client.Write(input)
			client.Close()
		}()
		c.start(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !g.waitAllGone(ctx) {
			t.Fatal("the connection did not end")
		}
		if h.opened != 1 || h.closed != 1 {
			t.Fatalf("OnOpen %d times, OnClose %d times", h.opened, h.closed)
		}
	})
}
