package routertest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// XConnect makes a test run with net/http's extended CONNECT on (GODEBUG
// http2xconnect=1) or off. net/http reads the setting from the
// environment once, when the process starts (with os.Getenv: a //go:debug
// line has no effect, and the go command refuses it as unknown), so a
// process cannot change it for itself. When this one has the wrong
// setting, XConnect runs the test again in a child process of the same
// test binary with the setting changed, fails the test if the child
// fails, and returns false: the caller returns at once. It returns true
// when the test should run in this process.
func XConnect(t *testing.T, on bool) bool {
	t.Helper()
	godebug := os.Getenv("GODEBUG")
	if strings.Contains(godebug, "http2xconnect=1") == on {
		return true
	}
	var kept []string
	for s := range strings.SplitSeq(godebug, ",") {
		if s != "" && !strings.HasPrefix(s, "http2xconnect=") {
			kept = append(kept, s)
		}
	}
	if on {
		kept = append(kept, "http2xconnect=1")
	}
	setting := "GODEBUG=" + strings.Join(kept, ",")
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), setting)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("in a child process with %s: %v\n%s", setting, err, out)
	}
	if testing.Verbose() {
		t.Logf("passed in a child process with %s:\n%s", setting, out)
	} else {
		t.Logf("passed in a child process with %s", setting)
	}
	return false
}

// ServeH2 serves h over HTTPS with HTTP/2, configured by cfg (nil for
// net/http's defaults), on a loopback port until t ends, and returns its
// address. The cleanup shuts u down before the server: an HTTP/2
// WebSocket holds its handler, which http.Server waits for.
func ServeH2(t testing.TB, u *gws.Upgrader, h http.Handler, cfg *http.HTTP2Config) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.Config.HTTP2 = cfg
	srv.StartTLS()
	t.Cleanup(func() {
		u.Shutdown(context.Background())
		srv.Close()
	})
	return srv.Listener.Addr().String()
}

// CheckH2Echo opens a stream to path on a new HTTP/2 connection to addr,
// checks that msgs echo and that a close 1000 is answered and the stream
// then ended.
func CheckH2Echo(t testing.TB, addr, path string, msgs ...string) {
	t.Helper()
	h2, err := rawclient.DialH2(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	c, _, err := h2.Dial(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	CheckEcho(t, c, msgs...)
	c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: []byte{0x03, 0xe8}})
	if f, err := c.ReadFrame(5 * time.Second); err != nil || f.Opcode != rawclient.OpClose {
		t.Fatalf("close echo: %+v %v", f, err)
	}
	if err := c.WaitClosed(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
