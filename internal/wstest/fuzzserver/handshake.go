package fuzzserver

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// acceptClient checks the testee's opening handshake (RFC 6455, section
// 4.1) and answers it with 101 and the extensions agreed, or with 400 and
// the reason.
func acceptClient(nc net.Conn, req *http.Request, extensions string) error {
	key := req.Header.Get("Sec-WebSocket-Key")
	var why string
	switch nonce, err := base64.StdEncoding.DecodeString(key); {
	case req.Method != http.MethodGet:
		why = "method " + req.Method + ", not GET"
	case !req.ProtoAtLeast(1, 1):
		why = "HTTP version " + req.Proto + ", not 1.1"
	case req.Host == "":
		why = "no Host header"
	case !rawclient.HasToken(req.Header["Upgrade"], "websocket"):
		why = "Upgrade header lacks websocket"
	case !rawclient.HasToken(req.Header["Connection"], "upgrade"):
		why = "Connection header lacks upgrade"
	case req.Header.Get("Sec-WebSocket-Version") != "13":
		why = fmt.Sprintf("Sec-WebSocket-Version %q, not 13", req.Header.Get("Sec-WebSocket-Version"))
	case err != nil || len(nonce) != 16 || len(req.Header.Values("Sec-WebSocket-Key")) != 1:
		why = fmt.Sprintf("Sec-WebSocket-Key %q is not one base64-encoded 16-byte value", key)
	}
	if why != "" {
		refuse(nc, http.StatusBadRequest, why)
		return fmt.Errorf("testee's opening handshake refused: %s", why)
	}
	if extensions != "" {
		extensions = "Sec-WebSocket-Extensions: " + extensions + "\r\n"
	}
	_, err := fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n", rawclient.AcceptKey(key), extensions)
	if err != nil {
		return fmt.Errorf("writing the handshake response: %w", err)
	}
	return nc.SetDeadline(time.Time{})
}

// refuse answers a request with an HTTP error.
func refuse(nc net.Conn, status int, reason string) {
	reason = strings.ReplaceAll(reason, "\n", " ") + "\n"
	fmt.Fprintf(nc, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(reason), reason)
}
