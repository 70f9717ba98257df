package rawclient

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gwsgo/gws/internal/wstest/leak"
)

func TestAcceptKey(t *testing.T) {
	// The example of RFC 6455, section 1.3.
	if got, want := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("AcceptKey = %q, want %q", got, want)
	}
}

// TestDialHandshake checks the request Dial sends, and that extra headers
// reach the server and replace standard ones.
func TestDialHandshake(t *testing.T) {
	t.Cleanup(func() { leak.VerifyNone(t) })
	reqs := make(chan *http.Request, 1)
	addr := serveOnce(t, func(nc net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Error(err)
			return
		}
		reqs <- req
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"+
			"Sec-WebSocket-Extensions: permessage-deflate\r\n"+
			"Sec-WebSocket-Accept: "+AcceptKey(req.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
	})
	c, resp, err := Dial(addr, "/chat?room=1", http.Header{
		"Sec-WebSocket-Extensions": {"permessage-deflate"},
		"Origin":                   {"http://example.com"},
		"Host":                     {"example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := <-reqs
	switch {
	case req.Method != http.MethodGet || req.RequestURI != "/chat?room=1" || req.Host != "example.com":
		t.Errorf("request line/host: %s %s, host %s", req.Method, req.RequestURI, req.Host)
	case req.Header.Get("Sec-WebSocket-Version") != "13" || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket"):
		t.Errorf("handshake headers: %v", req.Header)
	case req.Header.Get("Origin") != "http://example.com" || req.Header.Get("Sec-WebSocket-Extensions") != "permessage-deflate":
		t.Errorf("extra headers missing: %v", req.Header)
	case len(req.Header["Host"]) != 0:
		t.Errorf("Host sent as a header too: %v", req.Header)
	}
	if c.Response() != resp || resp.Header.Get("Sec-WebSocket-Extensions") != "permessage-deflate" {
		t.Errorf("negotiated response not exposed: %v", resp.Header)
	}
}

// TestDialRejects checks that Dial fails, returning the response, when
// the server does not accept the upgrade properly.
func TestDialRejects(t *testing.T) {
	t.Cleanup(func() { leak.VerifyNone(t) })
	for _, tc := range []struct{ name, response string }{
		{"status 400", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"},
		{"wrong accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n"},
		{"no upgrade", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveOnce(t, func(nc net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err == nil {
					io.WriteString(nc, tc.response)
				}
			})
			c, resp, err := Dial(addr, "/", nil)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if resp == nil {
				t.Errorf("Dial returned no response with error %v", err)
			}
			t.Log(err)
		})
	}
}

// serveOnce accepts one connection on a loopback port and hands it to
// handle; the connection and listener are closed when the test ends.
func serveOnce(t *testing.T, handle func(net.Conn, *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		handle(nc, bufio.NewReader(nc))
		io.Copy(io.Discard, nc) // until the client closes
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// TestDialRemovesHeader checks that an extra header with no values keeps
// a standard header out of the request, for handshake-rejection tests.
func TestDialRemovesHeader(t *testing.T) {
	t.Cleanup(func() { leak.VerifyNone(t) })
	addr := serveOnce(t, func(nc net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, ok := req.Header["Sec-Websocket-Version"]; ok {
			t.Errorf("Sec-WebSocket-Version sent: %v", req.Header)
		}
		io.WriteString(nc, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n")
	})
	_, resp, err := Dial(addr, "/", http.Header{"Sec-WebSocket-Version": nil})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("Dial: %v, response %v", err, resp)
	}
}
