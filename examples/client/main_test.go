package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/leak"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws" }

// gorillaEcho is an echo server built on another library,
// github.com/gorilla/websocket, with compression on when asked.
func gorillaEcho(t *testing.T, compress bool) *httptest.Server {
	up := websocket.Upgrader{EnableCompression: compress}
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, p); err != nil {
				return
			}
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return srv
}

// gwsEcho is gws's echo server on net/http.
func gwsEcho(t *testing.T, compress bool) *httptest.Server {
	u := &gws.Upgrader{ServerOptions: &gws.ServerOptions{CompressEnabled: compress}}
	srv := httptest.NewServer(gwshttp.Handler(u, wstest.Echo{}))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		u.Shutdown(ctx)
	})
	return srv
}

// TestRun runs the command's loop against gws's server and gorilla's, with
// and without compression: lines go out as messages and their echoes come
// back one per line.
func TestRun(t *testing.T) {
	long := strings.Repeat("compressible line ", 100)
	in := "hello\n\nκόσμε\n" + long + "\n"
	for _, tc := range []struct {
		name   string
		server func(*testing.T, bool) *httptest.Server
	}{{"gws", gwsEcho}, {"gorilla", gorillaEcho}} {
		for _, compress := range []bool{false, true} {
			name := tc.name
			if compress {
				name += " compressed"
			}
			t.Run(name, func(t *testing.T) {
				srv := tc.server(t, compress)
				var out bytes.Buffer
				err := run(context.Background(), wsURL(srv), &gws.ClientOptions{CompressEnabled: compress}, strings.NewReader(in), &out)
				if err != nil {
					t.Fatal(err)
				}
				if out.String() != in {
					t.Fatalf("printed %q, want %q", out.String(), in)
				}
			})
		}
	}
}

// TestRunServerCloses checks that a close from the server ends run with an
// error that says so.
func TestRunServerCloses(t *testing.T) {
	u := &gws.Upgrader{}
	srv := httptest.NewServer(gwshttp.Handler(u, closer{}))
	defer srv.Close()
	r, w := io.Pipe()
	defer w.Close()
	err := run(context.Background(), wsURL(srv), nil, r, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "1008") || !strings.Contains(err.Error(), "go away") {
		t.Fatalf("err %v, want the server's close code and reason", err)
	}
}

// closer closes every connection at once with 1008.
type closer struct{ wstest.Echo }

func (closer) OnOpen(c *gws.Conn) { c.WriteClose(gws.ClosePolicyViolation, []byte("go away")) }
