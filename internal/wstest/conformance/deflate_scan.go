package conformance

import (
	"errors"
	"fmt"
)

// compress/flate inflates any back-reference up to 32 KiB and does not say
// how far back a stream reached, so the driver walks the DEFLATE stream
// (RFC 1951) itself to check what an agreed window below 2^15 forbids and
// to explain a stream that would not inflate. Only lengths and distances
// matter here, so it counts output bytes and never produces them.

// backrefs describes the back-references of one message's DEFLATE stream.
type backrefs struct {
	out      int // bytes the stream produces
	farthest int // the largest distance of any back-reference
	// beforeStart is how far the stream reached before its own first byte,
	// into the sender's earlier messages; 0 if it never did.
	beforeStart int
}

var errShortStream = errors.New("DEFLATE stream ends before its final block")

// scanDeflate walks the stream p up to the end of its final block.
func scanDeflate(p []byte) (backrefs, error) {
	s := scanner{in: p}
	var r backrefs
	for {
		final, err := s.bits(1)
		if err != nil {
			return r, err
		}
		kind, err := s.bits(2)
		if err != nil {
			return r, err
		}
		switch kind {
		case 0:
			err = s.stored(&r)
		case 1:
			err = s.codes(&r, &fixedLit, &fixedDist)
		case 2:
			var lit, dist huffman
			if err = s.dynamicTables(&lit, &dist); err == nil {
				err = s.codes(&r, &lit, &dist)
			}
		default:
			err = errors.New("DEFLATE block of reserved type 3")
		}
		if err != nil || final == 1 {
			return r, err
		}
	}
}

type scanner struct {
	in    []byte
	pos   int
	buf   uint32 // bits not yet used, least significant first
	nbits uint
}

func (s *scanner) bits(n uint) (int, error) {
	for s.nbits < n {
		if s.pos == len(s.in) {
			return 0, errShortStream
		}
		s.buf |= uint32(s.in[s.pos]) << s.nbits
		s.pos++
		s.nbits += 8
	}
	v := int(s.buf & (1<<n - 1))
	s.buf >>= n
	s.nbits -= n
	return v, nil
}

func (s *scanner) stored(r *backrefs) error {
	s.buf, s.nbits = 0, 0 // a stored block starts at a byte boundary
	if len(s.in)-s.pos < 4 {
		return errShortStream
	}
	n := int(s.in[s.pos]) | int(s.in[s.pos+1])<<8
	if n != ^(int(s.in[s.pos+2])|int(s.in[s.pos+3])<<8)&0xffff {
		return errors.New("stored block length does not match its complement")
	}
	s.pos += 4
	if len(s.in)-s.pos < n {
		return errShortStream
	}
	s.pos += n
	r.out += n
	return nil
}

// huffman is a canonical Huffman code: how many codes have each length,
// and the symbols in code order.
type huffman struct {
	count  [16]int
	symbol []int
}

// build makes the code of the given code lengths; a code with lengths
// left over is allowed (RFC 1951 permits one distance code of one bit).
func (h *huffman) build(lengths []int) error {
	*h = huffman{symbol: make([]int, 0, len(lengths))}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - h.count[l]
		if left < 0 {
			return errors.New("over-subscribed Huffman code")
		}
	}
	for l := 1; l < 16; l++ {
		for sym, sl := range lengths {
			if sl == l {
				h.symbol = append(h.symbol, sym)
			}
		}
	}
	return nil
}

// decode reads one symbol, a bit at a time: canonical codes of each
// length are consecutive numbers, first of them being where the shorter
// ones left off, doubled.
func (s *scanner) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := s.bits(1)
		if err != nil {
			return 0, err
		}
		code |= b
		if n := h.count[l]; code-first < n {
			return h.symbol[index+code-first], nil
		}
		index += h.count[l]
		first = (first + h.count[l]) << 1
		code <<= 1
	}
	return 0, errors.New("invalid Huffman code")
}

var (
	lengthBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// codeLengthOrder is the order in which a dynamic block sends the
	// lengths of the code-length code.
	codeLengthOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// fixedLit and fixedDist are the codes of block type 1 (RFC 1951, 3.2.6).
var fixedLit, fixedDist = func() (huffman, huffman) {
	lengths := make([]int, 288)
	for i := range lengths {
		switch {
		case i < 144:
			lengths[i] = 8
		case i < 256:
			lengths[i] = 9
		case i < 280:
			lengths[i] = 7
		default:
			lengths[i] = 8
		}
	}
	var lit, dist huffman
	lit.build(lengths)
	d := make([]int, 30)
	for i := range d {
		d[i] = 5
	}
	dist.build(d)
	return lit, dist
}()

// codes walks the literals, lengths and distances of a compressed block.
func (s *scanner) codes(r *backrefs, lit, dist *huffman) error {
	for {
		sym, err := s.decode(lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			r.out++
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return fmt.Errorf("invalid length symbol %d", sym)
		}
		extra, err := s.bits(lengthExtra[sym-257])
		if err != nil {
			return err
		}
		length := lengthBase[sym-257] + extra
		dsym, err := s.decode(dist)
		if err != nil {
			return err
		}
		if dsym >= 30 {
			return fmt.Errorf("invalid distance symbol %d", dsym)
		}
		if extra, err = s.bits(distExtra[dsym]); err != nil {
			return err
		}
		d := distBase[dsym] + extra
		r.farthest = max(r.farthest, d)
		r.beforeStart = max(r.beforeStart, d-r.out)
		r.out += length
	}
}

// dynamicTables reads the code definitions of a block of type 2.
func (s *scanner) dynamicTables(lit, dist *huffman) error {
	var hdr [3]int
	for i, n := range []uint{5, 5, 4} {
		v, err := s.bits(n)
		if err != nil {
			return err
		}
		hdr[i] = v
	}
	nlit, ndist, nclen := hdr[0]+257, hdr[1]+1, hdr[2]+4
	if nlit > 286 || ndist > 30 {
		return errors.New("too many length or distance codes")
	}
	var clen [19]int
	for i := range nclen {
		v, err := s.bits(3)
		if err != nil {
			return err
		}
		clen[codeLengthOrder[i]] = v
	}
	var lenCode huffman
	if err := lenCode.build(clen[:]); err != nil {
		return err
	}
	lengths := make([]int, 0, nlit+ndist)
	for len(lengths) < nlit+ndist {
		sym, err := s.decode(&lenCode)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths = append(lengths, sym)
			continue
		}
		repeat, value := 0, 0
		switch sym {
		case 16:
			if len(lengths) == 0 {
				return errors.New("repeat of a code length with none before it")
			}
			value = lengths[len(lengths)-1]
			repeat, err = s.bits(2)
			repeat += 3
		case 17:
			repeat, err = s.bits(3)
			repeat += 3
		default:
			repeat, err = s.bits(7)
			repeat += 11
		}
		if err != nil {
			return err
		}
		if len(lengths)+repeat > nlit+ndist {
			return errors.New("code lengths overrun their count")
		}
		for range repeat {
			lengths = append(lengths, value)
		}
	}
	if lengths[256] == 0 {
		return errors.New("block has no end-of-block code")
	}
	if err := lit.build(lengths[:nlit]); err != nil {
		return err
	}
	return dist.build(lengths[nlit:])
}
