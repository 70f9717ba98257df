package gws

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func upgradeRequest(mod func(r *http.Request)) *Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/ws", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if mod != nil {
		mod(r)
	}
	return NewRequest(r)
}

func TestNegotiateAccepts(t *testing.T) {
	u := &Upgrader{ServerOptions: &ServerOptions{
		SubProtocols:   []string{"chat.v2", "chat"},
		ResponseHeader: http.Header{"X-Server": {"gws"}},
	}}
	resp, err := u.Negotiate(upgradeRequest(func(r *http.Request) {
		r.Header.Set("Connection", "keep-alive, UPGRADE")
		r.Header.Set("Upgrade", "WebSocket")
		r.Header.Set("Sec-WebSocket-Protocol", "chat, chat.v2")
		r.Header.Set("Origin", "http://EXAMPLE.com")
	}))
	if err != nil {
		t.Fatal(err)
	}
	hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp.appendTo(nil))), nil)
	if err != nil || hr.StatusCode != 101 || hr.Header.Get("Upgrade") != "websocket" || hr.Header.Get("Connection") != "Upgrade" {
		t.Fatalf("written response: %v %v", hr, err)
	}
	// RFC 6455 §1.3's worked example.
	if got := hr.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %q", got)
	}
	if resp.SubProtocol != "chat.v2" || hr.Header.Get("Sec-WebSocket-Protocol") != "chat.v2" {
		t.Fatalf("subprotocol %q, want the server's first choice the client offers", resp.SubProtocol)
	}
	if hr.Header.Get("X-Server") != "gws" {
		t.Fatal("extra response header missing")
	}
}

func TestNegotiateRejects(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(r *http.Request)
		status int
		err    error
	}{
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, 405, errMethod},
		{"HTTP/1.0", func(r *http.Request) { r.ProtoMinor = 0 }, 400, errHTTPVersion},
		{"no Connection upgrade", func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }, 400, errNotUpgrade},
		{"no Upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, 400, errNotUpgrade},
		{"Upgrade h2c", func(r *http.Request) { r.Header.Set("Upgrade", "h2c") }, 400, errNotUpgrade},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 426, errVersion},
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, 426, errVersion},
		{"no key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, 400, errKey},
		{"short key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }, 400, errKey},
		{"bad base64 key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==") }, 400, errKey},
		{"two keys", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, 400, errKey},
		{"cross origin", func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, 403, errOrigin},
		{"bad origin", func(r *http.Request) { r.Header.Set("Origin", "::") }, 403, errOrigin},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := (&Upgrader{}).Negotiate(upgradeRequest(c.mod))
			var he *HandshakeError
			if !errors.As(err, &he) || he.StatusCode != c.status || !errors.Is(err, c.err) {
				t.Fatalf("err %v, want status %d and %v", err, c.status, c.err)
			}
			if he.Reason == "" || strings.ContainsAny(he.Reason, "\r\n") {
				t.Fatalf("reason %q is not one line", he.Reason)
			}
			w := httptest.NewRecorder()
			he.writeResponse(w)
			if w.Code != c.status {
				t.Fatalf("written status %d", w.Code)
			}
			if c.status == 426 && w.Header().Get("Sec-WebSocket-Version") != "13" {
				t.Fatal("426 without Sec-WebSocket-Version: 13")
			}
		})
	}
}

func TestCheckOriginDecides(t *testing.T) {
	u := &Upgrader{CheckOrigin: func(r *Request) bool {
		r.Storage.Put("user", r.URL.Query().Get("user"))
		return r.URL.Query().Get("user") != ""
	}}
	if _, err := u.Negotiate(upgradeRequest(nil)); !errors.Is(err, errOrigin) {
		t.Fatalf("err %v, want errOrigin", err)
	}
	r := upgradeRequest(func(r *http.Request) {
		r.URL.RawQuery = "user=ann"
		r.Header.Set("Origin", "http://elsewhere.example")
	})
	if _, err := u.Negotiate(r); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Storage.Get("user"); v != "ann" {
		t.Fatalf("Storage user %v", v)
	}
}

func TestResponseHeaderInjectionRefused(t *testing.T) {
	for _, h := range []http.Header{
		{"X-Evil": {"a\r\nSet-Cookie: x=1"}},
		{"X-Evil\r\nSet-Cookie": {"1"}},
	} {
		u := &Upgrader{ServerOptions: &ServerOptions{ResponseHeader: h}}
		_, err := u.Negotiate(upgradeRequest(nil))
		var he *HandshakeError
		if !errors.As(err, &he) || he.StatusCode != 500 || !errors.Is(err, errHeader) {
			t.Fatalf("header %q: err %v, want 500 errHeader", h, err)
		}
	}
}

// FuzzHandshake feeds arbitrary bytes to the HTTP parser and then to
// Negotiate: nothing may panic, and an accepted request must carry the
// accept key of its own Sec-WebSocket-Key.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket, x\r\nConnection: a, upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nOrigin: http://a\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		u := &Upgrader{ServerOptions: &ServerOptions{SubProtocols: []string{"a", "b"}}}
		resp, err := u.Negotiate(NewRequest(req))
		if err != nil {
			var he *HandshakeError
			if !errors.As(err, &he) || he.StatusCode < 400 {
				t.Fatalf("rejection without a status: %v", err)
			}
			return
		}
		key := strings.TrimSpace(req.Header.Get("Sec-WebSocket-Key"))
		if string(resp.accept[:]) != acceptKey(key) {
			t.Fatal("accept key does not match the request's key")
		}
	})
}
