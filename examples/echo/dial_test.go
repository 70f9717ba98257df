package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
)

// collector is a client's handler that hands every event to the test.
type collector struct {
	events chan string
	closed chan struct{}
}

func (c *collector) OnOpen(*gws.Conn)               { c.events <- "open" }
func (c *collector) OnError(_ *gws.Conn, err error) { c.events <- "error " + err.Error() }
func (c *collector) OnPing(_ *gws.Conn, p []byte)   { c.events <- "ping " + string(p) }
func (c *collector) OnPong(_ *gws.Conn, p []byte)   { c.events <- "pong " + string(p) }
func (c *collector) OnClose(_ *gws.Conn, code gws.Code, _ []byte) {
	c.events <- fmt.Sprintf("close %d", code)
	close(c.closed)
}
func (c *collector) OnMessage(_ *gws.Conn, m *gws.Message) {
	c.events <- fmt.Sprintf("message %d %x", m.Opcode, bytes.Clone(m.Bytes()))
	m.Close()
}

func (c *collector) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-c.events:
		if got != want {
			t.Fatalf("event %.80q, want %.80q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no event within 5 s, want %.80q", want)
	}
}

// TestDialEveryRouter connects gws's client to gws's echo server on every
// router, with and without permessage-deflate.
func TestDialEveryRouter(t *testing.T) {
	for name, serve := range routers {
		for _, compress := range []bool{false, true} {
			sub := name
			if compress {
				sub += "/compress"
			}
			t.Run(sub, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				u := newUpgrader()
				u.ServerOptions.CompressEnabled = compress
				done := make(chan error, 1)
				go func() { done <- serve(ln, u, wstest.Echo{}) }()
				defer func() {
					ln.Close()
					if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
						t.Errorf("server: %v", err)
					}
				}()

				h := &collector{events: make(chan string, 64), closed: make(chan struct{})}
				url := "ws://" + ln.Addr().String() + "/ws?name=interop"
				c, resp, err := gws.Dial(context.Background(), url, h, &gws.ClientOptions{CompressEnabled: true})
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.HasPrefix(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate"); got != compress {
					t.Fatalf("compressed %v; server answered %q", got, resp.Header.Get("Sec-WebSocket-Extensions"))
				}
				h.expect(t, "open")
				for _, m := range []struct {
					op gws.Opcode
					p  []byte
				}{
					{gws.OpcodeText, []byte("hello from the client")},
					{gws.OpcodeBinary, []byte{0, 1, 2, 0xfe, 0xff}},
					{gws.OpcodeText, []byte(strings.Repeat("a long, compressible line; ", 5000))},
					{gws.OpcodeText, nil},
				} {
					if err := c.Write(m.op, m.p); err != nil {
						t.Fatal(err)
					}
					h.expect(t, fmt.Sprintf("message %d %x", m.op, m.p))
				}
				c.WritePing([]byte("are you there?"))
				h.expect(t, "pong are you there?")
				c.WriteClose(gws.CloseNormal, nil)
				h.expect(t, "close 1000")
			})
		}
	}
}
