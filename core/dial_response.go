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

// maxDialErrorBody is how much of a refusal's body a DialError keeps.
const maxDialErrorBody = 1 << 10

// Sentinel causes of a failed opening handshake, wrapped by DialError.
var (
	ErrHandshakeStatus      = errors.New("gws: server did not switch protocols")
	ErrHandshakeUpgrade     = errors.New("gws: response lacks Upgrade: websocket or Connection: Upgrade")
	ErrHandshakeAccept      = errors.New("gws: wrong Sec-WebSocket-Accept")
	ErrHandshakeSubProtocol = errors.New("gws: server chose a subprotocol that was not offered")
	ErrHandshakeExtension   = errors.New("gws: server chose an extension that was not offered")
)

// DialError is a failed opening handshake: the server answered, but not
// with a 101 response that completes the handshake. Dial returns it wrapped
// with the URL; use errors.As to get it and errors.Is with the
// ErrHandshake* sentinels to tell the causes apart.
type DialError struct {
	// StatusCode and Status are the response's, such as 403 and
	// "403 Forbidden".
	StatusCode int
	Status     string

	// Header holds the response's headers.
	Header http.Header

	// Body holds the first bytes of the response's body, at most 1 KiB:
	// servers usually say there why they refused.
	Body []byte

	// Reason says in one line what was wrong.
	Reason string

	// Err is one of the ErrHandshake* sentinels.
	Err error
}

func (e *DialError) Error() string {
	msg := fmt.Sprintf("gws: handshake failed (%s): %s", e.Status, e.Reason)
	if line := firstLine(e.Body); line != "" {
		msg += fmt.Sprintf(" (body: %q)", line)
	}
	return msg
}

func (e *DialError) Unwrap() error { return e.Err }

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
// that fails a check is returned with a *DialError.
func readHandshakeResponse(br *bufio.Reader, req *http.Request, key string, o *ClientOptions) (*http.Response, *deflateParams, error) {
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("reading handshake response: connection closed by the server (%w)", err)
		}
		return nil, nil, fmt.Errorf("reading handshake response: %w", err)
	}
	refuse := func(cause error, format string, args ...any) (*http.Response, *deflateParams, error) {
		e := &DialError{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header,
			Reason: fmt.Sprintf(format, args...), Err: cause}
		if resp.Body != nil {
			e.Body, _ = io.ReadAll(io.LimitReader(resp.Body, maxDialErrorBody))
			resp.Body.Close()
		}
		resp.Body = io.NopCloser(bytes.NewReader(e.Body))
		return resp, nil, e
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return refuse(ErrHandshakeStatus, "server answered %s, not 101 Switching Protocols", resp.Status)
	}
	resp.Body = http.NoBody
	if !headerHasToken(resp.Header, "Upgrade", "websocket") {
		return refuse(ErrHandshakeUpgrade, "Upgrade header %q does not name websocket", resp.Header.Values("Upgrade"))
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return refuse(ErrHandshakeUpgrade, "Connection header %q does not name upgrade", resp.Header.Values("Connection"))
	}
	if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 1 || strings.TrimSpace(got[0]) != AcceptKey(key) {
		return refuse(ErrHandshakeAccept, "Sec-WebSocket-Accept %q, want %q", got, AcceptKey(key))
	}
	if got := resp.Header.Values("Sec-WebSocket-Protocol"); len(got) > 0 {
		if len(got) > 1 || !offeredToken(req.Header, "Sec-WebSocket-Protocol", got[0]) {
			return refuse(ErrHandshakeSubProtocol, "server chose subprotocol %q, offered %q", got, req.Header.Get("Sec-WebSocket-Protocol"))
		}
	}
	deflate, err := acceptDeflate(resp.Header, o)
	if err != nil {
		return refuse(ErrHandshakeExtension, "%v (offered %q)", err, req.Header.Get("Sec-WebSocket-Extensions"))
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
