package frame

import "encoding/binary"

// Mask XORs b in place with key, starting at byte pos of the key, and returns
// the key position for the byte that follows b. Masking is its own inverse, so
// the same call unmasks. A payload read in pieces is unmasked by passing each
// call's result to the next.
//
// The bulk of b is processed a 64-bit word at a time: once pos is brought
// back to 0, the key is widened to a word and the loop is one load, XOR and
// store per eight bytes.
func Mask(b []byte, key [4]byte, pos int) int {
	pos &= 3
	i := 0
	// Bring pos back to 0 byte by byte so the word key lines up with b.
	for pos != 0 && i < len(b) {
		b[i] ^= key[pos]
		i++
		pos = (pos + 1) & 3
	}
	if len(b)-i >= 8 {
		k32 := uint64(binary.LittleEndian.Uint32(key[:]))
		k64 := k32 | k32<<32
		w := b[i:]
		// Four words per round, on a slice that shrinks as it goes, so the
		// compiler drops the bounds checks.
		for len(w) >= 32 {
			binary.LittleEndian.PutUint64(w[0:8], binary.LittleEndian.Uint64(w[0:8])^k64)
			binary.LittleEndian.PutUint64(w[8:16], binary.LittleEndian.Uint64(w[8:16])^k64)
			binary.LittleEndian.PutUint64(w[16:24], binary.LittleEndian.Uint64(w[16:24])^k64)
			binary.LittleEndian.PutUint64(w[24:32], binary.LittleEndian.Uint64(w[24:32])^k64)
			w = w[32:]
		}
		for len(w) >= 8 {
			binary.LittleEndian.PutUint64(w[0:8], binary.LittleEndian.Uint64(w[0:8])^k64)
			w = w[8:]
		}
		i = len(b) - len(w)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}
