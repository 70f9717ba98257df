package gws

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxErrorBody is how much of a refusal's body Dial keeps in the response
// it returns.
const maxErrorBody = 1 << 10

// Causes of a failed handshake, as the Err of a *HandshakeError.
var (
	errHandshakeStatus      = errors.New("server did not switch protocols")
	errHandshakeUpgrade     = errors.New("response lacks Upgrade: websocket or Connection: Upgrade")
	errHandshakeAccept      = errors.New("wrong Sec-WebSocket-Accept")
	errHandshakeSubProtocol = errors.New("server chose a subprotocol that was not offered")
	errHandshakeExtension   = errors.New("server chose an extension that was not offered")
)

// firstLine returns the start of a body for an error message.
func firstLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) > 120 {
		b = b[:120]
	}
	return string(b)
}

// readHandshakeResponse reads the server's answer to req from br and checks
// it (RFC 6455 §4.1): 101, Upgrade and Connection, the accept value for
// key, a subprotocol that was offered and no extension that was not. It
// returns the permessage-deflate agreement, nil without one. A response
// that fails a check is returned with a *HandshakeError.
func readHandshakeResponse(br *bufio.Reader, req *http.Request, key string, cfg *config) (*http.Response, *deflateParams, error) {
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("reading handshake response: connection closed by the server (%w)", err)
		}
		return nil, nil, fmt.Errorf("reading handshake response: %w", err)
	}
	return checkHandshakeResponse(resp, req, key, cfg)
}

// checkHandshakeResponse checks the answer to req: over HTTP/1.1 (key set)
// a 101 with Upgrade, Connection and the accept value for key; over an
// HTTP/2 stream (RFC 8441, no key) a 200; both with a subprotocol that was
// offered and no extension that was not.
func checkHandshakeResponse(resp *http.Response, req *http.Request, key string, cfg *config) (*http.Response, *deflateParams, error) {
	refuse := func(cause error, format string, args ...any) (*http.Response, *deflateParams, error) {
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			resp.Body.Close()
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		reason := fmt.Sprintf(format, args...)
		if line := firstLine(body); line != "" {
			reason += fmt.Sprintf(" (body: %q)", line)
		}
		return resp, nil, &HandshakeError{StatusCode: resp.StatusCode, Header: resp.Header, Reason: reason, Err: cause}
	}
	if key == "" {
		// The stream's body is the connection.
		if resp.StatusCode != http.StatusOK {
			return refuse(errHandshakeStatus, "server answered %s to the extended CONNECT, not 200", resp.Status)
		}
	} else {
		if resp.StatusCode != http.StatusSwitchingProtocols {
			return refuse(errHandshakeStatus, "server answered %s, not 101 Switching Protocols", resp.Status)
		}
		resp.Body = http.NoBody
		if !headerHasToken(resp.Header, "Upgrade", "websocket") {
			return refuse(errHandshakeUpgrade, "Upgrade header %q does not name websocket", resp.Header.Values("Upgrade"))
		}
		if !headerHasToken(resp.Header, "Connection", "upgrade") {
			return refuse(errHandshakeUpgrade, "Connection header %q does not name upgrade", resp.Header.Values("Connection"))
		}
		if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 1 || strings.TrimSpace(got[0]) != acceptKey(key) {
			return refuse(errHandshakeAccept, "Sec-WebSocket-Accept %q, want %q", got, acceptKey(key))
		}
	}
	if got := resp.Header.Values("Sec-WebSocket-Protocol"); len(got) > 0 {
		if len(got) > 1 || !offeredToken(req.Header, "Sec-WebSocket-Protocol", got[0]) {
			return refuse(errHandshakeSubProtocol, "server chose subprotocol %q, offered %q", got, req.Header.Get("Sec-WebSocket-Protocol"))
		}
	}
	deflate, err := acceptDeflate(resp.Header, cfg)
	if err != nil {
		return refuse(errHandshakeExtension, "%v (offered %q)", err, req.Header.Get("Sec-WebSocket-Extensions"))
	}
	return resp, deflate, nil
}

// offeredToken reports whether v is exactly one of the tokens of header
// name in h.
func offeredToken(h http.Header, name, v string) bool {
	if v == "" || strings.Contains(v, ",") {
		return false
	}
	for t := range headerTokens(h, name) {
		if t == v {
			return true
		}
	}
	return false
}
