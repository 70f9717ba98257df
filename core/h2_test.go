package gws

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// xconnect makes the test run with net/http's extended CONNECT on or off.
// net/http reads GODEBUG=http2xconnect=1 from the environment once, at
// package initialization, with os.Getenv (not through the godebug
// machinery, so a //go:debug line has no effect, and the go command
// refuses it as an unknown setting): a process cannot change it for
// itself. When the test process has the wrong setting, xconnect runs the
// test again in a child process of the same test binary with the setting
// changed, reports the child's result, and returns false; the caller then
// returns at once. It returns true when the test should run here.
func xconnect(t *testing.T, on bool) bool {
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
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG="+strings.Join(kept, ","))
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("in a child process with GODEBUG=%s: %v\n%s", strings.Join(kept, ","), err, out)
	}
	if testing.Verbose() {
		t.Logf("passed in a child process with GODEBUG=%s:\n%s", strings.Join(kept, ","), out)
	} else {
		t.Logf("passed in a child process with GODEBUG=%s", strings.Join(kept, ","))
	}
	return false
}

// serveH2 starts an HTTPS server with HTTP/2 on 127.0.0.1 whose every
// request goes to u.Upgrade; protos receives each request's ProtoMajor.
// It returns the wss:// URL and a client TLS configuration that trusts it.
func serveH2(t *testing.T, u *Upgrader, h EventHandler, protos chan<- int) (string, *tls.Config) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if protos != nil {
			protos <- r.ProtoMajor
		}
		u.Upgrade(context.Background(), w, r, h)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(func() {
		u.Shutdown(context.Background())
		srv.Close()
	})
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	return "wss" + strings.TrimPrefix(srv.URL, "https"), cfg
}

// TestDialHTTP2 runs a connection over an HTTP/2 stream both ways: Dial
// with HTTP2 opens it by extended CONNECT, Upgrade serves it, and text,
// binary, compressed and 1 MiB messages echo before a close 1000.
func TestDialHTTP2(t *testing.T) {
	if !xconnect(t, true) {
		return
	}
	for _, compress := range []bool{false, true} {
		u := &Upgrader{ServerOptions: &ServerOptions{CompressEnabled: compress}}
		protos := make(chan int, 1)
		url, tlsCfg := serveH2(t, u, echoHandler{}, protos)
		l := newClientLog()
		c, resp, err := Dial(context.Background(), url, l, &ClientOptions{HTTP2: true, TLSConfig: tlsCfg, CompressEnabled: compress})
		if err != nil {
			t.Fatal(err)
		}
		if p := <-protos; p != 2 || resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
			t.Fatalf("server saw HTTP/%d, client got HTTP/%d %s; want an HTTP/2 stream answered 200", p, resp.ProtoMajor, resp.Status)
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions") != ""; got != compress {
			t.Fatalf("compression agreed: %v, want %v", got, compress)
		}
		if _, ok := c.NetConn().(interface{ ConnectionState() tls.ConnectionState }); !ok {
			t.Fatal("NetConn has no ConnectionState")
		}
		l.expect(t, "open")
		c.WriteString("hello")
		l.expect(t, "message 1 hello")
		c.Write(OpcodeBinary, []byte{0, 1, 2})
		l.expect(t, "message 2 \x00\x01\x02")
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
		c.Write(OpcodeBinary, big)
		if got := l.next(t); got != "message 2 "+string(big) {
			t.Fatalf("1 MiB echo: got %d bytes", len(got))
		}
		c.WriteClose(CloseNormal, []byte("bye"))
		l.expect(t, "close 1000")
		<-c.Context.Done()
		if n := u.Stats().Conns; n != 0 {
			// The server saw the close frame before the client did.
			waitEnded(t, u)
		}
	}
}

// TestHTTP2StreamReset: a connection dropped without a closing handshake
// resets its stream, and the other side ends with 1006 at once.
func TestHTTP2StreamReset(t *testing.T) {
	if !xconnect(t, true) {
		return
	}
	u := &Upgrader{}
	server := &connLog{clientLog: newClientLog(), conns: make(chan *Conn, 1)}
	url, tlsCfg := serveH2(t, u, server, nil)
	opts := &ClientOptions{HTTP2: true, TLSConfig: tlsCfg}

	l := newClientLog()
	c, _, err := Dial(context.Background(), url, l, opts)
	if err != nil {
		t.Fatal(err)
	}
	l.expect(t, "open")
	server.expect(t, "open")
	<-server.conns
	c.Close()
	server.expect(t, "error", "close 1006")
	l.expect(t, "close 1006")

	server.clientLog = newClientLog()
	l = newClientLog()
	c, _, err = Dial(context.Background(), url, l, opts)
	if err != nil {
		t.Fatal(err)
	}
	l.expect(t, "open")
	server.expect(t, "open")
	(<-server.conns).Close()
	l.expect(t, "error", "close 1006")
	<-c.Context.Done()
	server.expect(t, "close 1006")
}

// connLog is a clientLog that also hands over each connection it opens.
type connLog struct {
	*clientLog
	conns chan *Conn
}

func (l *connLog) OnOpen(c *Conn) {
	l.clientLog.OnOpen(c)
	l.conns <- c
}

// TestHTTP2Off: without GODEBUG=http2xconnect=1 nothing changes. Dial
// with HTTP2 finds no extended CONNECT in the server's settings and
// upgrades over HTTP/1.1, and a request that comes over HTTP/2 is refused
// with a 400 saying why, not left hanging.
func TestHTTP2Off(t *testing.T) {
	if !xconnect(t, false) {
		return
	}
	u := &Upgrader{}
	protos := make(chan int, 2)
	url, tlsCfg := serveH2(t, u, echoHandler{}, protos)
	l := newClientLog()
	c, resp, err := Dial(context.Background(), url, l, &ClientOptions{HTTP2: true, TLSConfig: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	if p := <-protos; p != 1 || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("server saw HTTP/%d, client got %s; want HTTP/1.1 and 101", p, resp.Status)
	}
	l.expect(t, "open")
	c.WriteString("over 1.1")
	l.expect(t, "message 1 over 1.1")
	c.WriteClose(CloseNormal, nil)
	l.expect(t, "close 1000")

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}, Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	r, err := hc.Get("https" + strings.TrimPrefix(url, "wss"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if <-protos != 2 || r.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "extended CONNECT") {
		t.Fatalf("HTTP/2 GET: %s %q, want 400 naming extended CONNECT", r.Status, body)
	}
}

// TestNegotiateStream checks the RFC 8441 handshake's rules apart from a
// server: the version, :protocol and method, and a 200's headers.
func TestNegotiateStream(t *testing.T) {
	req := func(mod func(r *http.Request)) *Request {
		r := httptest.NewRequest(http.MethodConnect, "https://example.com/ws", nil)
		r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
		r.Header.Set(":protocol", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Protocol", "chat")
		r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate")
		if mod != nil {
			mod(r)
		}
		return NewRequest(r)
	}
	u := &Upgrader{ServerOptions: &ServerOptions{SubProtocols: []string{"chat"}, CompressEnabled: true}}
	resp, err := u.Negotiate(req(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.stream || resp.accept != [28]byte{} || resp.SubProtocol != "chat" || resp.extension == "" {
		t.Fatalf("response %+v", resp)
	}
	if !IsUpgrade(req(nil).Request) || IsUpgrade(req(func(r *http.Request) { r.Method = http.MethodGet }).Request) {
		t.Fatal("IsUpgrade does not tell an extended CONNECT from a GET")
	}
	for _, c := range []struct {
		name string
		mod  func(r *http.Request)
		want int
	}{
		{"GET over HTTP/2", func(r *http.Request) { r.Method = http.MethodGet }, 400},
		{"other :protocol", func(r *http.Request) { r.Header.Set(":protocol", "webtransport") }, 400},
		{"plain CONNECT", func(r *http.Request) { r.Header.Del(":protocol") }, 400},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 426},
	} {
		_, err := u.Negotiate(req(c.mod))
		var he *HandshakeError
		if !errors.As(err, &he) || he.StatusCode != c.want {
			t.Errorf("%s: %v, want status %d", c.name, err, c.want)
		}
	}
	if _, err := u.Accept(context.Background(), sinkConn{}, nil, resp, echoHandler{}); err == nil {
		t.Fatal("Accept took an HTTP/2 handshake")
	}
}

// panicky panics on every message.
type panicky struct{ NopHandler }

func (panicky) OnMessage(*Conn, *Message) { panic("gws test: handler panic over HTTP/2") }

// TestHTTP2HandlerPanic: over TCP a panic in an event handler ends the
// program (without Recovery middleware); over an HTTP/2 stream the events
// run on net/http's handler goroutine, whose recover must not swallow it
// and leave the connection counted for ever. The program runs in a child
// process, which must die of the panic.
func TestHTTP2HandlerPanic(t *testing.T) {
	if os.Getenv("GWS_PANIC_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHTTP2HandlerPanic$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GWS_PANIC_CHILD=1", "GODEBUG=http2xconnect=1")
		out, err := cmd.CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("panic: gws test: handler panic over HTTP/2")) {
			t.Fatalf("the child did not die of the handler's panic: %v\n%s", err, out)
		}
		return
	}
	url, tlsCfg := serveH2(t, &Upgrader{}, panicky{}, nil)
	c, _, err := Dial(context.Background(), url, NopHandler{}, &ClientOptions{HTTP2: true, TLSConfig: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	c.WriteString("boom")
	time.Sleep(5 * time.Second)
	t.Fatal("still alive 5 s after the handler panicked")
}
