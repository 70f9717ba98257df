package gws

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/internal/frame"
)

// clientLog is a client's EventHandler: it records events in order and
// echoes nothing.
type clientLog struct {
	events chan string
	closed chan struct{}
	mu     sync.Mutex
	errs   []error
	code   Code
	reason string
}

func newClientLog() *clientLog {
	return &clientLog{events: make(chan string, 256), closed: make(chan struct{})}
}

func (l *clientLog) OnOpen(*Conn) { l.events <- "open" }
func (l *clientLog) OnClose(c *Conn, code Code, reason []byte) {
	l.mu.Lock()
	l.code, l.reason = code, string(reason)
	l.mu.Unlock()
	l.events <- fmt.Sprintf("close %d", code)
	close(l.closed)
}
func (l *clientLog) OnError(c *Conn, err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
	l.events <- "error"
}
func (l *clientLog) OnPing(c *Conn, p []byte) { l.events <- "ping " + string(p) }
func (l *clientLog) OnPong(c *Conn, p []byte) { l.events <- "pong " + string(p) }
func (l *clientLog) OnMessage(c *Conn, m *Message) {
	l.events <- fmt.Sprintf("message %d %s", m.Opcode, m.Bytes())
	m.Close()
}

// next returns the next event, failing the test after 5 s.
func (l *clientLog) next(t testing.TB) string {
	t.Helper()
	select {
	case e := <-l.events:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return ""
	}
}

func (l *clientLog) expect(t testing.TB, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := l.next(t); got != w {
			t.Fatalf("event %q, want %q", got, w)
		}
	}
}

func (l *clientLog) waitClosed(t testing.TB) {
	t.Helper()
	select {
	case <-l.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called")
	}
}

// run makes the test close c and wait for its end (OnClose returned) when
// it is over.
func run(t testing.TB, c *Conn) {
	t.Cleanup(func() {
		c.Close()
		c.g.waitAllGone(context.Background())
	})
}

func wsURL(addr, path string) string { return "ws://" + addr + path }

// dialRun dials target with a clientLog and runs the connection until the test
// ends: a failed dial leaves nothing for the rest of a test to check.
func dialRun(t testing.TB, target string, opts *ClientOptions) (*Conn, *http.Response, *clientLog) {
	t.Helper()
	log := newClientLog()
	c, resp, err := Dial(context.Background(), target, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	return c, resp, log
}

func TestDialEcho(t *testing.T) {
	rec := newRecorder()
	addr := serve(t, &Upgrader{}, rec)
	c, resp, log := dialRun(t, wsURL(addr, "/ws?name=bob"), nil)
	if resp.StatusCode != http.StatusSwitchingProtocols || c.SubProtocol() != "" {
		t.Fatalf("status %d, subprotocol %q", resp.StatusCode, c.SubProtocol())
	}
	log.expect(t, "open")
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 200000} {
		p := strings.Repeat("x", n)
		if err := c.WriteString(p); err != nil {
			t.Fatal(err)
		}
		log.expect(t, "message 1 "+p)
		if err := c.Write(OpcodeBinary, []byte(p)); err != nil {
			t.Fatal(err)
		}
		log.expect(t, "message 2 "+p)
	}
	if err := c.WritePing([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "pong hi")
	if err := c.WriteClose(CloseNormal, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	log.expect(t, "close 1000")
	rec.waitClosed(t)
	if rec.code != CloseNormal || rec.reason != "bye" {
		t.Fatalf("server saw close %d %q", rec.code, rec.reason)
	}
}

// TestDialServerCloses checks the closing handshake started by the
// server, and the events of a ping.
func TestDialServerCloses(t *testing.T) {
	addr := rawServer(t, func(s *rawConn) {
		s.accept("")
		s.send(0x80|frame.OpPing, []byte("ping?"))
		if h, p := s.read(); h.Opcode != frame.OpPong || string(p) != "ping?" {
			s.t.Errorf("got opcode %d %q, want the pong", h.Opcode, p)
		}
		s.send(0x80|frame.OpClose, closePayload(CloseGoingAway, "restart"))
		if h, p := s.read(); h.Opcode != frame.OpClose || !bytes.Equal(p, closePayload(CloseGoingAway, "")) {
			s.t.Errorf("got opcode %d %q, want close 1001 echoed", h.Opcode, p)
		}
		s.expectEOF()
	})
	_, _, log := dialRun(t, wsURL(addr, "/"), nil)
	log.expect(t, "open", "ping ping?", "close 1001")
	if log.reason != "restart" {
		t.Fatalf("reason %q", log.reason)
	}
}

// TestDialMasksEveryFrame checks that each client frame is masked, with a
// key of its own.
func TestDialMasksEveryFrame(t *testing.T) {
	const frames = 64
	keys := make(chan [4]byte, frames)
	addr := rawServer(t, func(s *rawConn) {
		s.accept("")
		for i := range frames {
			h, p := s.read()
			if !h.Masked {
				s.t.Errorf("frame %d not masked", i)
			}
			if want := strings.Repeat("m", i); string(p) != want {
				s.t.Errorf("frame %d payload %q, want %q", i, p, want)
			}
			keys <- h.Key
		}
		close(keys)
		s.send(0x80|frame.OpClose, nil)
		s.read()
	})
	c, _, log := dialRun(t, wsURL(addr, "/"), nil)
	for i := range frames {
		op := OpcodeText
		if i%2 == 1 {
			op = OpcodePing // control frames are masked too
		}
		if err := c.Write(op, []byte(strings.Repeat("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[[4]byte]bool{}
	for k := range keys {
		seen[k] = true
	}
	// 64 random 32-bit keys collide with probability under 1e-6.
	if len(seen) != frames {
		t.Fatalf("%d distinct masking keys in %d frames", len(seen), frames)
	}
	log.waitClosed(t)
}

// TestDialRejectsMaskedServerFrame checks RFC 6455 §5.1: a client fails
// the connection with 1002 when a server frame is masked.
func TestDialRejectsMaskedServerFrame(t *testing.T) {
	addr := rawServer(t, func(s *rawConn) {
		s.accept("")
		s.nc.Write(encode(0x81, []byte("masked")))
		h, p := s.read()
		if h.Opcode != frame.OpClose || !bytes.Equal(p, closePayload(CloseProtocolError, "")) {
			s.t.Errorf("got opcode %d %q, want close 1002", h.Opcode, p)
		}
		s.expectEOF()
	})
	_, _, log := dialRun(t, wsURL(addr, "/"), nil)
	log.expect(t, "open", "error", "close 1002")
	if len(log.errs) != 1 || !errors.Is(log.errs[0], errProtocol) || !strings.Contains(log.errs[0].Error(), "masked") {
		t.Fatalf("errors %v, want one wrapping errProtocol about masking", log.errs)
	}
}

// TestDialBufferedFrames checks that frames the server sends in the same
// write as its 101 response reach the connection.
func TestDialBufferedFrames(t *testing.T) {
	unmasked := func(op byte, p string) string {
		b := make([]byte, frame.Size(int64(len(p)), false))
		frame.Encode(b, frame.Header{Fin: true, Opcode: op, Length: int64(len(p))})
		return string(b) + p
	}
	addr := rawServer(t, func(s *rawConn) {
		s.accept(unmasked(frame.OpText, "early") + unmasked(frame.OpBinary, "bird") + unmasked(frame.OpClose, "\x03\xe8"))
		s.read()
		s.expectEOF()
	})
	_, _, log := dialRun(t, wsURL(addr, "/"), nil)
	log.expect(t, "open", "message 1 early", "message 2 bird", "close 1000")
}

func TestDialSubProtocolAndHeaders(t *testing.T) {
	seen := make(chan *http.Request, 1)
	u := &Upgrader{
		ServerOptions: &ServerOptions{SubProtocols: []string{"v2.chat", "v1.chat"}},
		CheckOrigin: func(r *Request) bool {
			seen <- r.Request
			return true
		},
	}
	rec := newRecorder()
	addr := serve(t, u, rec)
	opts := &ClientOptions{
		SubProtocols: []string{"v1.chat", "v2.chat"},
		Header: http.Header{
			"Authorization": {"Bearer t0ken"},
			"Origin":        {"http://example.com"},
			"Host":          {"example.com"},
		},
	}
	c, resp, err := Dial(context.Background(), wsURL(addr, "/chat?room=1"), newClientLog(), opts)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	if c.SubProtocol() != "v2.chat" || resp.Header.Get("Sec-WebSocket-Protocol") != "v2.chat" {
		t.Fatalf("subprotocol %q, want the server's choice v2.chat", c.SubProtocol())
	}
	r := <-seen
	if r.Host != "example.com" || r.Header.Get("Authorization") != "Bearer t0ken" || r.URL.RequestURI() != "/chat?room=1" {
		t.Fatalf("server saw host %q, authorization %q, URI %q", r.Host, r.Header.Get("Authorization"), r.URL.RequestURI())
	}
	c.WriteClose(CloseNormal, nil)
	rec.waitClosed(t)
}

func TestDialRefusesReservedHeaders(t *testing.T) {
	for _, h := range []string{"Upgrade", "connection", "Sec-WebSocket-Key", "sec-websocket-version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"} {
		_, _, err := Dial(context.Background(), "ws://127.0.0.1:1/", newClientLog(), &ClientOptions{Header: http.Header{h: {"x"}}})
		if err == nil || !strings.Contains(err.Error(), "set by Dial") {
			t.Errorf("header %s: err %v", h, err)
		}
	}
	for _, p := range []string{"", "a b", "a,b", "é"} {
		_, _, err := Dial(context.Background(), "ws://127.0.0.1:1/", newClientLog(), &ClientOptions{SubProtocols: []string{p}})
		if err == nil || !strings.Contains(err.Error(), "token") {
			t.Errorf("subprotocol %q: err %v", p, err)
		}
	}
	_, _, err := Dial(context.Background(), "ws://127.0.0.1:1/", newClientLog(), &ClientOptions{Header: http.Header{"X-Bad": {"a\r\nInjected: 1"}}})
	if err == nil {
		t.Error("header value with CRLF accepted")
	}
}

func TestDialBadURL(t *testing.T) {
	for _, u := range []string{"ftp://example.com/", "ws://", "ws:example.com", "://x", "example.com/ws"} {
		_, _, err := Dial(context.Background(), u, newClientLog(), nil)
		if err == nil || !strings.Contains(err.Error(), "bad WebSocket URL") {
			t.Errorf("Dial(%q): err %v, want a bad URL", u, err)
		}
	}
}

func TestDialHandshakeRefused(t *testing.T) {
	long := strings.Repeat("no WebSocket here. ", 300)
	cases := []struct {
		name   string
		answer func(key string) string
		cause  error
		status int
		body   string
	}{
		{"404 with a long body", func(string) string {
			return fmt.Sprintf("HTTP/1.1 404 Not Found\r\nX-Reason: nope\r\nContent-Length: %d\r\n\r\n%s", len(long), long)
		}, errHandshakeStatus, 404, long[:maxErrorBody]},
		{"200", func(string) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi" }, errHandshakeStatus, 200, "hi"},
		{"no Upgrade", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(k) + "\r\n\r\n"
		}, errHandshakeUpgrade, 101, ""},
		{"no Connection", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + acceptKey(k) + "\r\n\r\n"
		}, errHandshakeUpgrade, 101, ""},
		{"wrong accept", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(k+"x") + "\r\n\r\n"
		}, errHandshakeAccept, 101, ""},
		{"no accept", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}, errHandshakeAccept, 101, ""},
		{"subprotocol not offered", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(k) + "\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
		}, errHandshakeSubProtocol, 101, ""},
		{"two subprotocols", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(k) + "\r\nSec-WebSocket-Protocol: chat, chat\r\n\r\n"
		}, errHandshakeSubProtocol, 101, ""},
		{"extension not offered", func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(k) + "\r\nSec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n"
		}, errHandshakeExtension, 101, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawServer(t, func(s *rawConn) {
				s.nc.Write([]byte(tc.answer(s.req.Header.Get("Sec-WebSocket-Key"))))
				s.expectEOF()
			})
			c, resp, err := Dial(context.Background(), wsURL(addr, "/"), newClientLog(), &ClientOptions{SubProtocols: []string{"chat"}})
			if c != nil {
				t.Fatal("Dial returned a connection")
			}
			var de *HandshakeError
			if !errors.As(err, &de) || !errors.Is(err, tc.cause) {
				t.Fatalf("err %v, want a HandshakeError wrapping %v", err, tc.cause)
			}
			if de.StatusCode != tc.status {
				t.Fatalf("HandshakeError status %d, want %d", de.StatusCode, tc.status)
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("response %v", resp)
			}
			if b, _ := io.ReadAll(resp.Body); string(b) != tc.body {
				t.Fatalf("response body %d bytes, want %d", len(b), len(tc.body))
			}
			if !strings.Contains(err.Error(), wsURL(addr, "/")) {
				t.Fatalf("error %q does not name the URL", err)
			}
			if tc.status == 404 && (de.Header.Get("X-Reason") != "nope" || !strings.Contains(err.Error(), "no WebSocket here")) {
				t.Fatalf("header %v, error %q", de.Header, err)
			}
		})
	}
}

func TestDialServerHangsUp(t *testing.T) {
	for name, answer := range map[string]string{
		"nothing": "",
		"garbage": "SSH-2.0-OpenSSH_9.6\r\n\r\n",
		"partial": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: web",
	} {
		t.Run(name, func(t *testing.T) {
			addr := rawServer(t, func(s *rawConn) {
				s.nc.Write([]byte(answer))
				s.nc.Close()
			})
			_, resp, err := Dial(context.Background(), wsURL(addr, "/"), newClientLog(), nil)
			var de *HandshakeError
			if err == nil || errors.As(err, &de) || resp != nil {
				t.Fatalf("err %v, response %v: want a plain error", err, resp)
			}
		})
	}
}

// silentServer accepts TCP connections and never answers.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, nc := range conns {
			nc.Close()
		}
	})
	return ln.Addr().String()
}

func TestDialTimeouts(t *testing.T) {
	addr := silentServer(t)
	check := func(name string, ctx context.Context, opts *ClientOptions, want error) {
		t.Helper()
		start := time.Now()
		_, _, err := Dial(ctx, wsURL(addr, "/"), newClientLog(), opts)
		if !errors.Is(err, want) {
			t.Errorf("%s: err %v, want %v", name, err, want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: Dial took %v", name, d)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	check("context deadline", ctx, nil, context.DeadlineExceeded)
	check("HandshakeTimeout", context.Background(), &ClientOptions{HandshakeTimeout: 100 * time.Millisecond}, context.DeadlineExceeded)
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	check("cancelled", ctx, &ClientOptions{HandshakeTimeout: -1}, context.Canceled)
}

// TestDialContextValues checks that the connection keeps the values of
// Dial's context but not its end.
func TestDialContextValues(t *testing.T) {
	type key struct{}
	rec := newRecorder()
	addr := serve(t, &Upgrader{}, rec)
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "trace-7"))
	c, _, err := Dial(ctx, wsURL(addr, "/"), newClientLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	run(t, c)
	if c.Context.Value(key{}) != "trace-7" || c.Context.Err() != nil {
		t.Fatalf("Context value %v, err %v", c.Context.Value(key{}), c.Context.Err())
	}
	c.WriteClose(CloseNormal, nil)
	rec.waitClosed(t)
}

func TestDialNetDial(t *testing.T) {
	rec := newRecorder()
	addr := serve(t, &Upgrader{}, rec)
	var dialed string
	opts := &ClientOptions{NetDial: func(ctx context.Context, network, a string) (net.Conn, error) {
		dialed = network + " " + a
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}}
	c, _, log := dialRun(t, "ws://service.internal/ws", opts)
	if dialed != "tcp service.internal:80" {
		t.Fatalf("NetDial called with %q", dialed)
	}
	c.WriteString("via hook")
	log.expect(t, "open", "message 1 via hook")
	c.WriteClose(CloseNormal, nil)
	rec.waitClosed(t)
}

// wsHandler upgrades requests with Upgrade and keeps the handler running
// until the Upgrader has no connection left; wg counts the handlers still
// running.
func wsHandler(u *Upgrader, h EventHandler, wg *sync.WaitGroup) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		if _, err := u.Upgrade(context.Background(), w, r, h); err == nil {
			u.group().waitAllGone(context.Background())
		}
	})
}

// tlsServer serves WebSockets over TLS with httptest's certificate and
// returns the server and a configuration that trusts it.
func tlsServer(t *testing.T, h EventHandler) (*httptest.Server, *tls.Config) {
	var wg sync.WaitGroup
	srv := httptest.NewUnstartedServer(wsHandler(&Upgrader{}, h, &wg))
	srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError) // the untrusted-certificate case
	srv.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, &tls.Config{RootCAs: pool}
}

func TestDialTLS(t *testing.T) {
	rec := newRecorder()
	srv, cfg := tlsServer(t, rec)
	wss := "wss" + strings.TrimPrefix(srv.URL, "https") + "/secure"
	c, _, log := dialRun(t, wss, &ClientOptions{TLSConfig: cfg})
	if _, ok := c.NetConn().(*tls.Conn); !ok {
		t.Fatalf("connection is a %T, not TLS", c.NetConn())
	}
	c.WriteString("over TLS")
	log.expect(t, "open", "message 1 over TLS")
	c.WriteClose(CloseNormal, nil)
	log.waitClosed(t)
	rec.waitClosed(t)

	_, _, err := Dial(context.Background(), wss, newClientLog(), nil)
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Fatalf("untrusted certificate: err %v", err)
	}
}

// testProxy is a tiny HTTP proxy that serves only CONNECT, for tests.
type testProxy struct {
	srv      *httptest.Server
	wg       sync.WaitGroup
	auth     string // the Proxy-Authorization it demands, if any
	redirect string // if set, the address it tunnels to, whatever the target
	mu       sync.Mutex
	seen     []string // "target|header X-Proxy-Test"
}

func newTestProxy(t *testing.T, useTLS bool, auth string) *testProxy {
	p := &testProxy{auth: auth}
	h := http.HandlerFunc(p.serve)
	if useTLS {
		p.srv = httptest.NewTLSServer(h)
	} else {
		p.srv = httptest.NewServer(h)
	}
	t.Cleanup(func() {
		p.srv.Close()
		p.wg.Wait()
	})
	return p
}

func (p *testProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.wg.Add(1)
	defer p.wg.Done()
	p.mu.Lock()
	p.seen = append(p.seen, r.Host)
	p.mu.Unlock()
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	if p.auth != "" && r.Header.Get("Proxy-Authorization") != p.auth {
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		http.Error(w, "who are you?", http.StatusProxyAuthRequired)
		return
	}
	to := r.Host
	if p.redirect != "" {
		to = p.redirect
	}
	target, err := net.Dial("tcp", to)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		target.Close()
		return
	}
	client.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	var copies sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}
	copies.Go(func() { pipe(target, client) })
	pipe(client, target)
	copies.Wait()
	client.Close()
	target.Close()
}

func (p *testProxy) url(user *url.Userinfo) *url.URL {
	u, _ := url.Parse(p.srv.URL)
	u.User = user
	return u
}

func TestDialProxy(t *testing.T) {
	rec := newRecorder()
	plainAddr := serve(t, &Upgrader{}, rec)
	tlsRec := newRecorder()
	tlsSrv, cfg := tlsServer(t, tlsRec)
	for _, tc := range []struct {
		name     string
		proxyTLS bool
		target   string
		rec      *recorder
	}{
		{"ws via http proxy", false, wsURL(plainAddr, "/"), rec},
		{"wss via https proxy", true, "wss" + strings.TrimPrefix(tlsSrv.URL, "https"), tlsRec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("ada:s3cret"))
			p := newTestProxy(t, tc.proxyTLS, auth)
			var proxied *url.URL
			opts := &ClientOptions{
				TLSConfig: cfg,
				Proxy: func(r *http.Request) (*url.URL, error) {
					proxied = r.URL
					return p.url(url.UserPassword("ada", "s3cret")), nil
				},
			}
			c, _, log := dialRun(t, tc.target, opts)
			c.WriteString("tunnelled")
			log.expect(t, "open", "message 1 tunnelled")
			c.WriteClose(CloseNormal, nil)
			log.waitClosed(t)
			tc.rec.waitClosed(t)
			wantScheme := "http"
			if strings.HasPrefix(tc.target, "wss") {
				wantScheme = "https"
			}
			if proxied.Scheme != wantScheme {
				t.Errorf("Proxy saw scheme %q, want %q as http.ProxyFromEnvironment expects", proxied.Scheme, wantScheme)
			}
			u, _ := url.Parse(tc.target)
			if want := []string{u.Host}; fmt.Sprint(p.seen) != fmt.Sprint(want) {
				t.Errorf("proxy saw %q, want %q", p.seen, want)
			}

			// Wrong credentials: the proxy's refusal is reported.
			opts.Proxy = http.ProxyURL(p.url(url.UserPassword("ada", "wrong")))
			_, _, err := Dial(context.Background(), tc.target, newClientLog(), opts)
			if !errors.Is(err, errProxy) || !strings.Contains(err.Error(), "407") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("refused CONNECT: err %v, want errProxy with 407 and no password", err)
			}
		})
	}
}

func TestDialProxyUnsupported(t *testing.T) {
	opts := &ClientOptions{Proxy: http.ProxyURL(&url.URL{Scheme: "socks5", Host: "127.0.0.1:1080"})}
	_, _, err := Dial(context.Background(), "ws://127.0.0.1:1/", newClientLog(), opts)
	if !errors.Is(err, errProxy) {
		t.Fatalf("err %v, want errProxy", err)
	}
}

// rawConn is the server end of a test connection, under the test's full
// control.
type rawConn struct {
	t   testing.TB
	nc  net.Conn
	br  *bufio.Reader
	req *http.Request
}

// rawServer serves each connection with fn after reading its request, and
// waits in Cleanup for every fn to return.
func rawServer(t testing.TB, fn func(s *rawConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(nc)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				fn(&rawConn{t: t, nc: nc, br: br, req: req})
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// accept writes a valid 101 response followed by tail.
func (s *rawConn) accept(tail string) {
	key := s.req.Header.Get("Sec-WebSocket-Key")
	fmt.Fprintf(s.nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n%s", acceptKey(key), tail)
}

// send writes an unmasked frame.
func (s *rawConn) send(first byte, p []byte) {
	h := frame.Header{Fin: first&0x80 != 0, Rsv: first & 0x70, Opcode: first & 0x0f, Length: int64(len(p))}
	b := make([]byte, frame.Size(h.Length, false)+len(p))
	copy(b[frame.Encode(b, h):], p)
	s.nc.Write(b)
}

// read returns the next frame, unmasked.
func (s *rawConn) read() (frame.Header, []byte) {
	var hb [frame.MaxHeaderSize]byte
	if _, err := io.ReadFull(s.br, hb[:2]); err != nil {
		s.t.Errorf("reading frame: %v", err)
		return frame.Header{}, nil
	}
	n := frame.HeaderLen(hb[1])
	io.ReadFull(s.br, hb[2:n])
	h, _, err := frame.Parse(hb[:n])
	if err != nil {
		s.t.Errorf("parsing frame: %v", err)
		return h, nil
	}
	p := make([]byte, h.Length)
	io.ReadFull(s.br, p)
	if h.Masked {
		frame.Mask(p, h.Key, 0)
	}
	return h, p
}

// expectEOF checks that the client closes the connection.
func (s *rawConn) expectEOF() {
	if n, err := io.Copy(io.Discard, s.br); err != nil || n != 0 {
		s.t.Errorf("want the client to close TCP, got %d more bytes, err %v", n, err)
	}
}

// FuzzHandshakeResponse feeds arbitrary bytes to the client's parser of
// the server's handshake response: it must not panic, and whatever it
// accepts must be a complete, valid answer to the request.
func FuzzHandshakeResponse(f *testing.F) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	ok := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n"
	f.Add([]byte(ok + "\r\n"))
	f.Add([]byte(ok + "Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x02hi"))
	f.Add([]byte(ok + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!"))
	f.Add([]byte("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 101\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept:  " + acceptKey(key) + " \r\n\r\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		u, _ := url.Parse("http://example.com/ws")
		cfg := (&ClientOptions{CompressEnabled: true}).config()
		req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{
			"Sec-Websocket-Key":        {key},
			"Sec-Websocket-Protocol":   {"chat, superchat"},
			"Sec-Websocket-Extensions": {deflateOffer(cfg)},
		}}
		br := bufio.NewReader(bytes.NewReader(input))
		resp, deflate, err := readHandshakeResponse(br, req, key, cfg)
		var de *HandshakeError
		switch {
		case err == nil:
			if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") == "" {
				t.Fatalf("accepted status %d, accept %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
			}
			if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" && p != "chat" && p != "superchat" {
				t.Fatalf("accepted subprotocol %q", p)
			}
			if deflate != nil && (deflate.ownWindowBits < 8 || deflate.ownWindowBits > 15 || deflate.peerWindow < 9 || deflate.peerWindow > 15 || !deflate.ownNoContext) {
				t.Fatalf("agreement %+v", *deflate)
			}
		case errors.As(err, &de):
			if resp == nil || de.Err == nil {
				t.Fatalf("HandshakeError %+v with response %v", de, resp)
			}
			if b, _ := io.ReadAll(resp.Body); len(b) > maxErrorBody {
				t.Fatalf("response body of %d bytes kept", len(b))
			}
		case resp != nil:
			t.Fatalf("plain error %v with a response", err)
		}
	})
}

func TestDialCompressed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server ServerOptions
		client ClientOptions
	}{
		{"defaults", ServerOptions{CompressEnabled: true}, ClientOptions{CompressEnabled: true}},
		{"context takeover", ServerOptions{CompressEnabled: true, ServerContextTakeover: true, ClientContextTakeover: true},
			ClientOptions{CompressEnabled: true, ClientContextTakeover: true, CompressLevel: 9}},
		{"server asked not to keep its context", ServerOptions{CompressEnabled: true, ServerContextTakeover: true},
			ClientOptions{CompressEnabled: true}},
		{"server keeps its context", ServerOptions{CompressEnabled: true, ServerContextTakeover: true},
			ClientOptions{CompressEnabled: true, ServerContextTakeover: true}},
		{"server declines", ServerOptions{}, ClientOptions{CompressEnabled: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			addr := serve(t, &Upgrader{ServerOptions: &tc.server}, rec)
			c, resp, log := dialRun(t, wsURL(addr, "/"), &tc.client)
			if (c.deflate != nil) != tc.server.CompressEnabled {
				t.Fatalf("compressed %v; response extensions %q", c.deflate != nil, resp.Header.Get("Sec-WebSocket-Extensions"))
			}
			if c.deflate != nil && c.deflate.peerNoContext == tc.client.ServerContextTakeover {
				t.Fatalf("server context takeover %v, asked %v", !c.deflate.peerNoContext, tc.client.ServerContextTakeover)
			}
			log.expect(t, "open")
			for _, p := range []string{strings.Repeat("gws compresses ", 200), "short", strings.Repeat("gws compresses ", 200), strings.Repeat("κόσμε", 5000)} {
				c.WriteString(p)
				log.expect(t, "message 1 "+p)
			}
			c.WriteClose(CloseNormal, nil)
			rec.waitClosed(t)
			if len(rec.errs) > 0 {
				t.Fatalf("server errors %v", rec.errs)
			}
		})
	}
}

// deflateMessage compresses p as the next message of fw, RFC 7692 style.
func deflateMessage(fw *flate.Writer, out *bytes.Buffer, p string) []byte {
	out.Reset()
	fw.Write([]byte(p))
	fw.Flush()
	return bytes.TrimSuffix(bytes.Clone(out.Bytes()), []byte{0, 0, 0xff, 0xff})
}

// TestDialDeflateSmallWindows checks that the client honours the windows
// a server picks: it inflates the server's messages with the server's
// context, and compresses its own with no back-references when its window
// is 8 bits.
func TestDialDeflateSmallWindows(t *testing.T) {
	text := strings.Repeat("window ", 30)
	addr := rawServer(t, func(s *rawConn) {
		if got := s.req.Header.Get("Sec-WebSocket-Extensions"); got != "permessage-deflate; client_max_window_bits; client_no_context_takeover; server_no_context_takeover" {
			s.t.Errorf("offer %q", got)
		}
		fmt.Fprintf(s.nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"+
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8; server_max_window_bits=9\r\n\r\n",
			acceptKey(s.req.Header.Get("Sec-WebSocket-Key")))
		var out bytes.Buffer
		fw, _ := flate.NewWriter(&out, flate.BestCompression)
		for range 2 {
			// The second message refers back into the first.
			s.send(0x80|frame.Rsv1|frame.OpText, deflateMessage(fw, &out, text))
		}
		h, p := s.read()
		if h.Rsv != frame.Rsv1 {
			s.t.Errorf("client message not compressed: rsv %#x", h.Rsv)
		}
		inflated, err := io.ReadAll(flate.NewReader(bytes.NewReader(append(p, 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff))))
		if err != nil || string(inflated) != strings.Repeat("a", 2000) {
			s.t.Errorf("client message inflates to %d bytes, err %v", len(inflated), err)
		}
		// Huffman codes alone need at least a bit per byte; any
		// back-reference would shrink 2000 'a's to a few bytes.
		if len(p) < 2000/8 {
			s.t.Errorf("client message compressed to %d bytes: back-references beyond an 8-bit window", len(p))
		}
		s.send(0x80|frame.OpClose, nil)
		s.read()
		s.expectEOF()
	})
	c, _, log := dialRun(t, wsURL(addr, "/"), &ClientOptions{CompressEnabled: true})
	log.expect(t, "open", "message 1 "+text, "message 1 "+text)
	c.WriteString(strings.Repeat("a", 2000))
	log.expect(t, "close 1005")
}

func TestAcceptDeflate(t *testing.T) {
	on := &ClientOptions{CompressEnabled: true}
	cases := []struct {
		opts     *ClientOptions
		response string
		want     *deflateParams // nil: declined
		err      string
	}{
		{on, "", nil, ""},
		{&ClientOptions{}, "permessage-deflate", nil, "not offered"},
		{on, "permessage-deflate", &deflateParams{ownNoContext: true, ownWindowBits: 15, peerWindow: 15}, ""},
		{&ClientOptions{CompressEnabled: true, ClientContextTakeover: true}, "permessage-deflate",
			&deflateParams{ownWindowBits: 15, peerWindow: 15}, ""},
		{&ClientOptions{CompressEnabled: true, ClientContextTakeover: true}, "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
			&deflateParams{ownNoContext: true, peerNoContext: true, ownWindowBits: 15, peerWindow: 15}, ""},
		{on, `permessage-deflate; client_max_window_bits=8; server_max_window_bits="10"`,
			&deflateParams{ownNoContext: true, ownWindowBits: 8, peerWindow: 10}, ""},
		{on, "permessage-deflate; server_max_window_bits=8", &deflateParams{ownNoContext: true, ownWindowBits: 15, peerWindow: 9}, ""},
		{on, "permessage-deflate; client_max_window_bits", nil, "not valid"},
		{on, "permessage-deflate; server_max_window_bits=16", nil, "not valid"},
		{on, "permessage-deflate; server_no_context_takeover=yes", nil, "not valid"},
		{on, "permessage-deflate; mystery", nil, "not valid"},
		{on, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", nil, "repeated"},
		{on, "permessage-deflate, permessage-deflate", nil, "twice"},
		{on, "x-webkit-deflate-frame", nil, "not offered"},
		{&ClientOptions{CompressEnabled: true, ServerContextTakeover: true}, "permessage-deflate; server_no_context_takeover",
			&deflateParams{ownNoContext: true, peerNoContext: true, ownWindowBits: 15, peerWindow: 15}, ""},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.response != "" {
			h.Set("Sec-WebSocket-Extensions", tc.response)
		}
		got, err := acceptDeflate(h, tc.opts.config())
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want one saying %q", tc.response, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.response, err)
		case (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want:
			t.Errorf("%q: agreement %+v, want %+v", tc.response, got, tc.want)
		}
	}
}

func TestDialHeartbeat(t *testing.T) {
	rec := newRecorder()
	addr := serve(t, &Upgrader{}, rec)
	c, _, err := Dial(context.Background(), wsURL(addr, "/"), newClientLog(), &ClientOptions{PingInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	deadline := time.Now().Add(5 * time.Second)
	for !slices.ContainsFunc(rec.log(), func(e string) bool { return strings.HasPrefix(e, "ping") }) {
		if time.Now().After(deadline) {
			t.Fatalf("no ping from the client; server saw %q", rec.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.WriteClose(CloseNormal, nil)
	rec.waitClosed(t)
}

// TestDialProxyFromEnvironment checks the default proxy: HTTP_PROXY, as
// net/http reads it. net/http reads the environment once per process, so
// the test runs again in a process of its own.
func TestDialProxyFromEnvironment(t *testing.T) {
	if os.Getenv("GWS_TEST_ENV_PROXY") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDialProxyFromEnvironment$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GWS_TEST_ENV_PROXY=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("in a process of its own: %v\n%s", err, out)
		}
		return
	}
	rec := newRecorder()
	addr := serve(t, &Upgrader{}, rec)
	p := newTestProxy(t, false, "")
	// Loopback targets are never proxied, so the URL names another host
	// and the proxy takes it to the test server.
	p.redirect = addr
	for _, k := range []string{"HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, p.srv.URL)
	}
	for _, k := range []string{"NO_PROXY", "no_proxy", "REQUEST_METHOD"} {
		t.Setenv(k, "")
	}
	c, _, log := dialRun(t, "ws://gws.example/ws", nil)
	c.WriteString("via the environment's proxy")
	log.expect(t, "open", "message 1 via the environment's proxy")
	c.WriteClose(CloseNormal, nil)
	rec.waitClosed(t)
	if want := []string{"gws.example:80"}; fmt.Sprint(p.seen) != fmt.Sprint(want) {
		t.Fatalf("proxy saw %q, want %q", p.seen, want)
	}
}
