package loadgen

import (
	"bytes"
	"testing"
)

func TestDeflateRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 1 << 10, 16 << 10, 100 << 10} {
		p := makeJSON(n)
		if len(p) != n {
			t.Fatalf("makeJSON(%d) has %d bytes", n, len(p))
		}
		z := deflateMessage(p)
		if bytes.HasSuffix(z, deflateTail) && n > 0 {
			t.Errorf("%d bytes: the flush tail was left on", n)
		}
		got, err := inflateMessage(z)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: round trip differs", n)
		}
		// Realistic text: compressible, but far from a repeated byte.
		if n >= 1<<10 {
			if r := float64(n) / float64(len(z)); r < 2 || r > 8 {
				t.Errorf("%d bytes compress %.1f×, want 2–8×", n, r)
			}
		}
	}
	if _, err := inflateMessage(deflateMessage(makeJSON(4096))[:100]); err == nil {
		t.Error("a truncated stream inflated without error")
	}
}

// A compressed reply, as one frame or fragmented, must check out against
// the payload; an uncompressed one too, since a server may decline to
// compress any message.
func TestCheckCompressedReply(t *testing.T) {
	c := newClient(Config{Size: 2000, Compress: true})
	z := deflateMessage(c.payload)
	one := serverFrame(opText, z)
	one[0] |= rsv1
	frags := serverFrames(opText, z, 3)
	frags[0] |= rsv1
	for name, b := range map[string][]byte{"one frame": one, "fragmented": frags, "uncompressed": serverFrame(opText, c.payload)} {
		if err := c.checkReply(b, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := serverFrame(opText, z)
	bad[0] |= rsv1
	bad[len(bad)-1] ^= 0xff
	if err := c.checkReply(bad, "corrupt"); err == nil {
		t.Error("a corrupt compressed reply passed")
	}
	plain := newClient(Config{Size: 2000})
	if err := plain.checkReply(one, "unasked"); err == nil {
		t.Error("a compressed reply passed on a connection without compression")
	}
}
