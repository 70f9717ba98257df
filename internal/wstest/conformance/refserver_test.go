package conformance

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// refServer is a WebSocket echo server written only to test the driver:
// it behaves as the cases expect, independently of the driver's code, and
// its flaws switch parts of that off to prove that the cases notice.
type refServer struct {
	ln    net.Listener
	flaws flaws
	wg    sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// flaws are deliberate mistakes of a refServer.
type flaws struct {
	noUTF8Check   bool // echoes text without validating it
	lateUTF8Check bool // validates text only once the message is complete
	wrongCode     bool // fails the connection with 1000 where 1002 is due
	corruptEcho   bool // flips the last byte of every echoed payload
	emptyPongs    bool // answers every ping with an empty pong
	keepOpen      bool // leaves TCP open after the closing handshake
	deflate       deflateFlaws
}

// startRefServer starts a refServer on a loopback port, stopped when the
// test ends, and returns its address.
func startRefServer(t testing.TB, f flaws) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &refServer{ln: ln, flaws: f, conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.serve)
	t.Cleanup(s.stop)
	return ln.Addr().String()
}

func (s *refServer) serve() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[nc] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, nc)
				s.mu.Unlock()
				nc.Close()
			}()
			s.handle(nc)
		})
	}
}

// stop closes the listener and every connection and waits for their
// goroutines.
func (s *refServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *refServer) handle(nc net.Conn) {
	br := bufio.NewReader(nc)
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	if req.Method != http.MethodGet || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") ||
		req.Header.Get("Sec-WebSocket-Version") != "13" || key == "" {
		io.WriteString(nc, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
		return
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	deflate, answer := refNegotiate(req.Header.Values("Sec-WebSocket-Extensions"), s.flaws.deflate)
	if deflate != nil {
		answer = "Sec-WebSocket-Extensions: " + answer + "\r\n"
	}
	io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n"+answer+"\r\n")
	nc.SetDeadline(time.Time{})
	c := &refConn{nc: nc, br: br, flaws: s.flaws, deflate: deflate}
	if deflate != nil {
		defer deflate.release()
	}
	err = c.serve()
	var fail *refFailure
	switch {
	case errors.As(err, &fail):
		c.closeWith(fail.code)
	case errors.Is(err, errPeerClosed):
		c.linger()
	}
}

// refFailure fails the connection with a close code.
type refFailure struct{ code int }

func (f *refFailure) Error() string { return "fail connection" }

func failWith(code int) error { return &refFailure{code} }

// errPeerClosed ends a connection whose closing handshake is done.
var errPeerClosed = errors.New("closing handshake done")

// refConn is one connection of a refServer.
type refConn struct {
	nc    net.Conn
	br    *bufio.Reader
	flaws flaws

	inMessage bool
	op        byte
	message   []byte
	text      utf8Stream

	deflate    *refDeflate // nil unless permessage-deflate was agreed
	compressed bool        // the message being read has RSV1
}

func (c *refConn) serve() error {
	for {
		if err := c.frame(); err != nil {
			return err
		}
	}
}

// frame handles one frame. A data frame's payload is validated piece by
// piece as it arrives, so that invalid UTF-8 fails the connection at the
// first bad byte, even halfway through a frame.
func (c *refConn) frame() error {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return err
	}
	fin, rsv, op, masked := h[0]&0x80 != 0, h[0]&0x70, h[0]&0x0F, h[1]&0x80 != 0
	control := op&0x8 != 0
	n := uint64(h[1] & 0x7F)
	// RSV1 may only open a compressed message.
	rsv1Allowed := rsv == 0x40 && c.deflate != nil && (op == 1 || op == 2)
	switch {
	case rsv != 0 && !rsv1Allowed, !masked, op > 0xA, op > 0x2 && op < 0x8:
		return failWith(1002)
	case control && (!fin || n > 125):
		return failWith(1002)
	case op == 0 && !c.inMessage, op != 0 && !control && c.inMessage:
		return failWith(1002)
	}
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > 64<<20 {
		return failWith(1009)
	}
	var key [4]byte
	if _, err := io.ReadFull(c.br, key[:]); err != nil {
		return err
	}
	if control {
		p := make([]byte, n)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return err
		}
		for i := range p {
			p[i] ^= key[i&3]
		}
		return c.control(op, p)
	}
	if op != 0 {
		c.inMessage, c.op, c.message, c.text, c.compressed = true, op, c.message[:0], utf8Stream{}, rsv != 0
	}
	checkNow := c.op == 1 && !c.compressed && !c.flaws.noUTF8Check && !c.flaws.lateUTF8Check
	var buf [4096]byte
	for done := uint64(0); done < n; {
		k, err := c.br.Read(buf[:min(n-done, uint64(len(buf)))])
		for i := range k {
			buf[i] ^= key[(done+uint64(i))&3]
		}
		if checkNow && !c.text.write(buf[:k]) {
			return failWith(1007)
		}
		c.message = append(c.message, buf[:k]...)
		done += uint64(k)
		if err != nil {
			return err
		}
	}
	if !fin {
		return nil
	}
	c.inMessage = false
	echo := c.message
	if c.compressed {
		var ok bool
		if echo, ok = c.deflate.inflate(echo, c.flaws.deflate); !ok {
			return failWith(1007)
		}
	}
	switch {
	case c.op != 1, c.flaws.noUTF8Check:
	case c.compressed || c.flaws.lateUTF8Check:
		if !utf8.Valid(echo) {
			return failWith(1007)
		}
	case !c.text.complete():
		return failWith(1007)
	}
	if c.flaws.corruptEcho && len(echo) > 0 {
		echo = append([]byte(nil), echo...)
		echo[len(echo)-1] ^= 1
	}
	return c.writeMessage(c.op, echo)
}

func (c *refConn) control(op byte, p []byte) error {
	switch op {
	case 0x9:
		if c.flaws.emptyPongs {
			p = nil
		}
		return c.write(0xA, p)
	case 0xA:
		return nil
	}
	switch {
	case len(p) == 0:
		if err := c.write(0x8, nil); err != nil {
			return err
		}
		return errPeerClosed
	case len(p) == 1:
		return failWith(1002)
	}
	code := int(binary.BigEndian.Uint16(p))
	if !sendableCode(code) {
		return failWith(1002)
	}
	if !utf8.Valid(p[2:]) {
		return failWith(1007)
	}
	if err := c.write(0x8, p[:2]); err != nil {
		return err
	}
	return errPeerClosed
}

// sendableCode reports whether a close frame may carry code.
func sendableCode(code int) bool {
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}

// write sends one unmasked, unfragmented frame.
func (c *refConn) write(op byte, p []byte) error {
	b := []byte{0x80 | op}
	switch n := len(p); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
	_, err := c.nc.Write(append(b, p...))
	return err
}

// closeWith fails the connection: a close frame with code, then TCP
// closed.
func (c *refConn) closeWith(code int) {
	if code == 1002 && c.flaws.wrongCode {
		code = 1000
	}
	if c.write(0x8, binary.BigEndian.AppendUint16(nil, uint16(code))) == nil {
		c.linger()
	}
}

// linger closes the sending side and waits briefly for the client to
// close, reading what it still sends. Closing a socket with unread input
// would reset the connection, and a reset may destroy the close frame
// before the client reads it.
func (c *refConn) linger() {
	if c.flaws.keepOpen {
		io.Copy(io.Discard, c.nc)
		return
	}
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, c.nc)
}

// utf8Stream validates UTF-8 incrementally, rejecting a sequence at its
// first byte that no valid text can continue.
type utf8Stream struct {
	need   int  // continuation bytes still due
	lo, hi byte // range of the next continuation byte
}

func (u *utf8Stream) write(p []byte) bool {
	for _, b := range p {
		if u.need > 0 {
			if b < u.lo || b > u.hi {
				return false
			}
			u.need, u.lo, u.hi = u.need-1, 0x80, 0xBF
			continue
		}
		u.lo, u.hi = 0x80, 0xBF
		switch {
		case b < 0x80:
		case b >= 0xC2 && b <= 0xDF:
			u.need = 1
		case b == 0xE0:
			u.need, u.lo = 2, 0xA0 // no overlong forms
		case b == 0xED:
			u.need, u.hi = 2, 0x9F // no surrogates
		case b >= 0xE1 && b <= 0xEF:
			u.need = 2
		case b == 0xF0:
			u.need, u.lo = 3, 0x90 // no overlong forms
		case b >= 0xF1 && b <= 0xF3:
			u.need = 3
		case b == 0xF4:
			u.need, u.hi = 3, 0x8F // nothing beyond U+10FFFF
		default:
			return false
		}
	}
	return true
}

func (u *utf8Stream) complete() bool { return u.need == 0 }
