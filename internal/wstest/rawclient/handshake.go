package rawclient

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// handshakeTimeout bounds dialing and the opening handshake.
const handshakeTimeout = 5 * time.Second

// acceptGUID is the fixed string of RFC 6455, section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Dial opens a TCP connection to addr (host:port) and performs the opening
// handshake of RFC 6455 for path, with a random 16-byte key. extraHeader is
// added to the request and replaces a standard header of the same name (a
// name with no values removes it), so that a caller can offer extensions
// (Sec-WebSocket-Extensions), subprotocols, an Origin, or a deliberately
// wrong handshake; a "Host" entry replaces the Host line. Dial fails
// unless the server answers 101 with a matching Sec-WebSocket-Accept; the
// server's response is returned whenever one was read, even with an error.
func Dial(addr, path string, extraHeader http.Header) (*Conn, *http.Response, error) {
	if path == "" {
		path = "/"
	}
	nc, err := net.DialTimeout("tcp", addr, handshakeTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("rawclient: dial: %w", err)
	}
	c, resp, err := handshake(nc, addr, path, extraHeader)
	if err != nil {
		nc.Close()
		return nil, resp, err
	}
	return c, resp, nil
}

func handshake(nc net.Conn, addr, path string, extraHeader http.Header) (*Conn, *http.Response, error) {
	if err := nc.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return nil, nil, fmt.Errorf("rawclient: handshake: %w", err)
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	header := http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-Websocket-Key":     {base64.StdEncoding.EncodeToString(nonce[:])},
		"Sec-Websocket-Version": {"13"},
	}
	host := addr
	for k, v := range extraHeader {
		k = http.CanonicalHeaderKey(k)
		if k == "Host" {
			if len(v) > 0 {
				host = v[0]
			}
			continue
		}
		header[k] = v
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	header.Write(&req)
	req.WriteString("\r\n")
	if _, err := nc.Write(req.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("rawclient: handshake: %w", err)
	}

	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, nil, fmt.Errorf("rawclient: handshake: reading response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, resp, fmt.Errorf("rawclient: handshake: status %q, want 101", resp.Status)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, resp, fmt.Errorf("rawclient: handshake: Upgrade %q, want websocket", resp.Header.Get("Upgrade"))
	}
	if !HasToken(resp.Header["Connection"], "upgrade") {
		return nil, resp, fmt.Errorf("rawclient: handshake: Connection %q lacks upgrade", resp.Header["Connection"])
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), AcceptKey(header.Get("Sec-WebSocket-Key")); got != want {
		return nil, resp, fmt.Errorf("rawclient: handshake: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, resp, fmt.Errorf("rawclient: handshake: %w", err)
	}
	// br may already hold frames the server sent right after its 101, so
	// it stays the connection's reader.
	return &Conn{conn: nc, br: br, resp: resp}, resp, nil
}

// AcceptKey returns the Sec-WebSocket-Accept value a server must answer to
// the Sec-WebSocket-Key key (RFC 6455, section 4.2.2).
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// HasToken reports whether the comma-separated header values hold token,
// compared without regard to case, as the Upgrade and Connection headers
// of a handshake must.
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
