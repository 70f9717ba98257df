package loadgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The key from RFC 6455 §1.3, and the accept value it must produce. Every
// connection may use the same key: servers only hash it.
const (
	wsKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	wsAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// ioTimeout bounds every blocking step outside the measured loop, so that a
// server that hangs makes the run fail instead of stalling it.
const ioTimeout = 10 * time.Second

// deflateOffer asks for permessage-deflate with no context takeover either
// way, which every library that compresses accepts, so each message is
// compressed on its own and the client's frames can be compressed once.
const deflateOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n"

func upgradeRequest(addr string, compress bool) []byte {
	ext := ""
	if compress {
		ext = deflateOffer
	}
	return []byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + wsKey + "\r\nSec-WebSocket-Version: 13\r\n" + ext + "\r\n")
}

// client is what every scenario shares: the encoded frames and requests,
// built once.
type client struct {
	cfg     Config
	request []byte // the upgrade request
	frame   []byte // one message, as the client sends it
	frames  []byte // InFlight copies of frame, to refill the pipe in one write
	payload []byte
	closeF  []byte // a close frame with code 1000
	op      byte

	// replyBytes is the size on the wire of the first checked reply, to
	// show how much a server's compression saved.
	replyBytes atomic.Int64
}

func newClient(cfg Config) *client {
	c := &client{cfg: cfg, request: upgradeRequest(cfg.Addr, cfg.Compress), op: opBinary}
	if cfg.Text || cfg.Compress {
		c.op = opText
	}
	mask := [4]byte{0x5a, 0x13, 0xc7, 0x2e}
	if cfg.Compress {
		// Compressed once here, as a client with no context takeover
		// may: the same message always compresses to the same bytes.
		c.payload = makeJSON(cfg.Size)
		c.frame = encodeClientFrame(c.op, deflateMessage(c.payload), mask)
		c.frame[0] |= rsv1
	} else {
		c.payload = makePayload(cfg.Size, cfg.Text)
		c.frame = encodeClientFrame(c.op, c.payload, mask)
	}
	k := max(cfg.InFlight, 1)
	c.frames = bytes.Repeat(c.frame, k)
	c.closeF = encodeClientFrame(opClose, []byte{0x03, 0xe8}, mask)
	return c
}

// dial makes connection i and, for a WebSocket server, completes the
// opening handshake. Any bytes read past the response are returned in rest.
func (c *client) dial(i int) (net.Conn, []byte, error) {
	addr := c.cfg.Addr
	if n := len(c.cfg.Addrs); n > 0 && i%(n+1) > 0 {
		addr = c.cfg.Addrs[i%(n+1)-1]
	}
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, nil, err
	}
	if !c.cfg.WebSocket {
		return conn, nil, nil
	}
	rest, err := c.handshake(conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, rest, nil
}

// handshake sends the upgrade request and reads the response up to its
// blank line. Against the TCP echo the "response" is the request itself, so
// the connection-rate scenario moves the same bytes for every server.
func (c *client) handshake(conn net.Conn) ([]byte, error) {
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(c.request); err != nil {
		return nil, err
	}
	var buf [1024]byte
	n := 0
	for {
		m, err := conn.Read(buf[n:])
		n += m
		if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
			resp := buf[:i+4]
			if c.cfg.WebSocket {
				if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) || !bytes.Contains(resp, []byte(wsAccept)) {
					line, _, _ := bytes.Cut(resp, []byte("\r\n"))
					return nil, fmt.Errorf("handshake refused: %q", line)
				}
				if c.cfg.Compress && !bytes.Contains(bytes.ToLower(resp), []byte("permessage-deflate")) {
					return nil, errors.New("server did not accept permessage-deflate")
				}
			}
			return append([]byte(nil), buf[i+4:n]...), nil
		}
		if err != nil {
			return nil, fmt.Errorf("handshake: %w", err)
		}
		if n == len(buf) {
			return nil, errors.New("handshake response too long")
		}
	}
}

// echoOnce sends one message and checks that exactly it comes back, byte for
// byte, so a server that mangles payloads fails the run instead of being
// timed.
func (c *client) echoOnce(conn net.Conn, rest []byte) error {
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(c.frame); err != nil {
		return err
	}
	got := append(make([]byte, 0, len(c.frame)+64), rest...)
	if !c.cfg.WebSocket {
		got, err := readRaw(conn, got, len(c.frame))
		if err != nil {
			return fmt.Errorf("first echo: %w", err)
		}
		if !bytes.Equal(got, c.frame) {
			return errors.New("first echo: reply differs from the bytes sent")
		}
		return nil
	}
	got, err := readMessage(conn, got, c.op)
	if err != nil {
		return fmt.Errorf("first echo: %w", err)
	}
	c.replyBytes.CompareAndSwap(0, int64(len(got)))
	return c.checkReply(got, "first echo")
}

// checkReply checks that b, one complete message from the server, carries
// the payload the client sent, inflating it if the server compressed it.
func (c *client) checkReply(b []byte, what string) error {
	p := framePayloads(b)
	if b[0]&rsv1 != 0 {
		if !c.cfg.Compress {
			return fmt.Errorf("%s: compressed reply on a connection without compression", what)
		}
		var err error
		if p, err = inflateMessage(p); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if !bytes.Equal(p, c.payload) {
		return fmt.Errorf("%s: reply payload differs from the message sent", what)
	}
	return nil
}

// readRaw reads from conn until got holds n bytes: the TCP floor answers
// with bytes, not messages.
func readRaw(conn net.Conn, got []byte, n int) ([]byte, error) {
	got = slices.Grow(got, n-len(got))
	for len(got) < n {
		m, err := conn.Read(got[len(got):n])
		got = got[:len(got)+m]
		if err != nil && len(got) < n {
			return got, err
		}
	}
	if len(got) > n {
		return got, errors.New("server sent more bytes than expected")
	}
	return got, nil
}

// readMessage reads from conn, after the bytes in rest, until one whole
// message from the server is in; more than that is an error.
func readMessage(conn net.Conn, rest []byte, wantOp byte) ([]byte, error) {
	got := append(make([]byte, 0, 64), rest...)
	rc := replyCounter{wantOp: wantOp}
	msgs, err := rc.feed(got)
	var buf [4096]byte
	for err == nil && msgs == 0 {
		var m int
		m, err = conn.Read(buf[:])
		got = append(got, buf[:m]...)
		if m > 0 {
			var k int
			k, err = rc.feed(buf[:m])
			msgs += k
		}
	}
	if err != nil {
		return nil, err
	}
	if msgs != 1 || rc.left != 0 || rc.hn != 0 {
		return nil, errors.New("server sent more than one message")
	}
	return got, nil
}

// framePayloads concatenates the payloads of the complete, unmasked frames in
// b (a checked reply, possibly fragmented).
func framePayloads(b []byte) []byte {
	var out []byte
	for len(b) >= 2 {
		hl := serverHeaderLen(b)
		var n int
		switch b[1] & 0x7f {
		case 126:
			n = int(binary.BigEndian.Uint16(b[2:]))
		case 127:
			n = int(binary.BigEndian.Uint64(b[2:]))
		default:
			n = int(b[1] & 0x7f)
		}
		out = append(out, b[hl:hl+n]...)
		b = b[hl+n:]
	}
	return out
}

// closeConn ends a connection with a reset instead of a FIN, so that the
// client leaves no socket in TIME_WAIT and a long run cannot run out of
// ephemeral ports.
func closeConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// dialAll opens n connections with a bounded number of dials at a time,
// calling setup on each; it stops at the first error.
func (c *client) dialAll(n int, setup func(net.Conn, []byte) error) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(c.cfg.DialParallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					return
				}
				conn, rest, err := c.dial(i)
				if err == nil && setup != nil {
					err = setup(conn, rest)
					if err != nil {
						conn.Close()
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				conns[i] = conn
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		for _, conn := range conns {
			if conn != nil {
				closeConn(conn)
			}
		}
		return nil, firstErr
	}
	return conns, nil
}
