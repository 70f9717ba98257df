package frame

import "encoding/binary"

// Mask XORs b in place with key, starting at byte pos of the key, and returns
// the key position for the byte that follows b. Masking is its own inverse, so
// the same call unmasks. A payload read in pieces is unmasked by passing each
// call's result to the next.
//
// The bulk of b is processed eight bytes at a time: the key is rotated to pos
// and widened to a 64-bit word once, so the loop is one load, XOR and store
// per word.
func Mask(b []byte, key [4]byte, pos int) int {
	pos &= 3
	i := 0
	// Bring pos back to 0 byte by byte so the word key lines up with b.
	for pos != 0 && i < len(b) {
		b[i] ^= key[pos]
		i++
		pos = (pos + 1) & 3
	}
	if n := len(b) - i; n >= 8 {
		k32 := uint64(binary.LittleEndian.Uint32(key[:]))
		k64 := k32 | k32<<32
		end := i + n&^7
		for ; i < end; i += 8 {
			v := binary.LittleEndian.Uint64(b[i:])
			binary.LittleEndian.PutUint64(b[i:], v^k64)
		}
	}
	for ; i < len(b); i++ {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}
