package gws

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gwsgo/gws/core/internal/frame"
)

// digest answers every message with its length and SHA-256, so that a
// test can check a large message arrived whole without echoing it.
type digest struct{ NopHandler }

func (digest) OnMessage(c *Conn, m *Message) {
	defer m.Close()
	c.WriteString(digestOf(m.Bytes()))
}

func digestOf(p []byte) string { return fmt.Sprintf("%d %x", len(p), sha256.Sum256(p)) }

// sendFragmented sends msg as fragments of size piece.
func (c *client) sendFragmented(op byte, msg []byte, piece int) {
	c.t.Helper()
	for off := 0; off < len(msg); off += piece {
		end := min(off+piece, len(msg))
		first := byte(frame.OpContinuation)
		if off == 0 {
			first = op
		}
		if end == len(msg) {
			first |= 0x80
		}
		c.send(first, msg[off:end])
	}
}

// TestLargeFragmentedMessage sends a message at the limit, 64 MiB in
// 64 KiB fragments: it must arrive whole (bufpool's tests check that
// growing it copies O(size) bytes), and one byte more must end the
// connection with 1009.
func TestLargeFragmentedMessage(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("sends 128 MiB, which takes 20 times longer under the race detector; scripts/test runs this package once more without it")
	}
	const limit, piece = 64 << 20, 64 << 10
	u := &Upgrader{ServerOptions: &ServerOptions{ReadMaxPayloadSize: limit}}
	addr := serve(t, u, digest{})
	msg := make([]byte, limit)
	rng := rand.NewChaCha8([32]byte{})
	rng.Read(msg)

	c := connect(t, addr)
	c.sendFragmented(frame.OpBinary, msg, piece)
	c.expect(frame.OpText, []byte(digestOf(msg)))

	c.sendFragmented(frame.OpBinary, append(msg, 0), piece)
	c.expectClose(CloseMessageTooBig)
}

// TestManyTinyFragments sends a message in 100,000 one-byte fragments
// (Autobahn's 9.3.* send 65,536): it must still arrive whole.
func TestManyTinyFragments(t *testing.T) {
	addr := serve(t, &Upgrader{}, digest{})
	msg := make([]byte, 100_000)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	c := connect(t, addr)
	c.sendFragmented(frame.OpText, msg, 1)
	c.expect(frame.OpText, []byte(digestOf(msg)))
}
