package frame

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, length := range []int64{0, 1, 125, 126, 127, 0xffff, 0x10000, 1 << 40} {
		for _, masked := range []bool{false, true} {
			h := Header{Fin: true, Rsv: Rsv1, Opcode: OpBinary, Masked: masked, Length: length}
			if masked {
				h.Key = [4]byte{1, 2, 3, 4}
			}
			buf := make([]byte, MaxHeaderSize)
			n := Encode(buf, h)
			if n != Size(length, masked) {
				t.Fatalf("len %d masked %v: Encode wrote %d, Size says %d", length, masked, n, Size(length, masked))
			}
			if HeaderLen(buf[1]) != n {
				t.Fatalf("len %d: HeaderLen %d, want %d", length, HeaderLen(buf[1]), n)
			}
			for i := 0; i < n; i++ {
				if _, _, err := Parse(buf[:i]); !errors.Is(err, ErrShort) {
					t.Fatalf("len %d: Parse of %d of %d bytes: err %v, want ErrShort", length, i, n, err)
				}
			}
			got, m, err := Parse(buf[:n])
			if err != nil || m != n || got != h {
				t.Fatalf("Parse = %+v, %d, %v; want %+v, %d", got, m, err, h, n)
			}
		}
	}
}

func TestLengthForms(t *testing.T) {
	for _, c := range []struct {
		length int64
		b1     byte
	}{{125, 125}, {126, 126}, {0xffff, 126}, {0x10000, 127}} {
		buf := make([]byte, MaxHeaderSize)
		Encode(buf, Header{Length: c.length})
		if buf[1] != c.b1 {
			t.Errorf("length %d encoded with %d, want %d", c.length, buf[1], c.b1)
		}
	}
}

func TestParseRejectsTopBit(t *testing.T) {
	b := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}
	if _, _, err := Parse(b); !errors.Is(err, ErrLength) {
		t.Fatalf("err %v, want ErrLength", err)
	}
}

func naiveMask(b []byte, key [4]byte, pos int) {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
}

func TestMaskMatchesNaive(t *testing.T) {
	key := [4]byte{0xde, 0xad, 0xbe, 0xef}
	for n := 0; n < 70; n++ {
		for pos := 0; pos < 4; pos++ {
			a := make([]byte, n)
			for i := range a {
				a[i] = byte(i * 7)
			}
			b := bytes.Clone(a)
			next := Mask(a, key, pos)
			naiveMask(b, key, pos)
			if !bytes.Equal(a, b) {
				t.Fatalf("n=%d pos=%d: word mask differs from byte mask", n, pos)
			}
			if next != (pos+n)&3 {
				t.Fatalf("n=%d pos=%d: next pos %d, want %d", n, pos, next, (pos+n)&3)
			}
		}
	}
}

func TestMaskInPieces(t *testing.T) {
	key := [4]byte{9, 8, 7, 6}
	whole := bytes.Repeat([]byte("websocket"), 20)
	pieces := bytes.Clone(whole)
	Mask(whole, key, 0)
	pos := 0
	for i := 0; i < len(pieces); i += 13 {
		pos = Mask(pieces[i:min(i+13, len(pieces))], key, pos)
	}
	if !bytes.Equal(whole, pieces) {
		t.Fatal("masking in pieces differs from masking at once")
	}
}

// FuzzParse checks that any input parses without panicking and that what
// parses re-encodes to the same bytes whenever the length form was minimal.
func FuzzParse(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x82, 126, 0x01, 0x00})
	f.Add([]byte{0x02, 127, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			return
		}
		if n != HeaderLen(b[1]) || n > len(b) {
			t.Fatalf("header size %d, HeaderLen %d, input %d", n, HeaderLen(b[1]), len(b))
		}
		if h.Length < 0 {
			t.Fatalf("negative length %d", h.Length)
		}
		out := make([]byte, MaxHeaderSize)
		m := Encode(out, h)
		if m == n && !bytes.Equal(out[:m], b[:n]) {
			t.Fatalf("re-encoded %x, parsed from %x", out[:m], b[:n])
		}
	})
}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{1, 2, 3, 4}
	for _, n := range []int{16, 1024, 65536} {
		buf := make([]byte, n)
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Mask(buf, key, 0)
			}
		})
	}
}
