package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

// wait bounds every read, so a silent server fails the test.
const wait = 5 * time.Second

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	leak.VerifyTestMain(m)
}

// TestRequestContextReachesHandlers checks that a value Gin middleware
// put in the request's context reaches the connection's OnOpen through
// socket.Context, as an otelgin span would.
func TestRequestContextReachesHandlers(t *testing.T) {
	addr := routertest.ServeHTTP(t, newRouter())
	for header, want := range map[string]string{"trace-4bf92f35": "hello, alice (request trace-4bf92f35)", "": "hello, alice (request req-1)"} {
		c := routertest.MustDial(t, addr, "/ws?name=alice", http.Header{"X-Request-Id": {header}})
		f, err := c.ReadFrame(wait)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(f.Payload); got != want {
			t.Errorf("X-Request-ID %q: greeted with %q, want %q", header, got, want)
		}
		if got := routertest.RoundTrip(t, c, "echo"); got != "echo" {
			t.Errorf("echo: %q", got)
		}
	}
}
