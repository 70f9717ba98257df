package gws

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math"
	"sync"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

// The permessage-deflate codec (RFC 7692 §7.2) with the standard library's
// compress/flate; negotiation is in extension.go.
//
// compress/flate always keeps a 32 KiB window and has no setting for a
// smaller one, so when a peer asks gws to compress with a window under
// 2^15 bytes, gws compresses with flate.HuffmanOnly: Huffman-coded literals
// with no back-references at all, which any window size can decode.

// deflateTail is what RFC 7692 §7.2.1 strips from the end of every
// compressed message (an empty stored block left by a sync flush), followed
// by an empty final stored block so that the inflater reports io.EOF at the
// message's end instead of waiting for more input.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// writerPools holds flate writers that carry no context between messages,
// one pool per level from HuffmanOnly (-2) to BestCompression (9). A flate
// writer is some 600 KiB, so sharing them is what makes compression
// affordable at many connections.
var writerPools [flate.BestCompression + 3]sync.Pool

// appendWriter is the io.Writer a flate writer fills: it appends to a
// pooled buffer, growing it from the pool.
type appendWriter struct{ buf *[]byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = bufpool.Grow(w.buf, len(p), math.MaxInt)
	*w.buf = append(*w.buf, p...)
	return len(p), nil
}

// compressor is a flate writer bound to the appendWriter it writes into.
type compressor struct {
	fw  *flate.Writer
	out appendWriter
}

func getCompressor(level int) *compressor {
	if v := writerPools[level+2].Get(); v != nil {
		return v.(*compressor)
	}
	c := &compressor{}
	c.fw, _ = flate.NewWriter(&c.out, level) // level is checked by config.withDefaults
	return c
}

func putCompressor(level int, c *compressor) {
	c.out.buf = nil
	writerPools[level+2].Put(c)
}

// compressFrame returns one frame holding p compressed, with RSV1 set, in
// a pooled buffer: header, then payload, starting at the returned offset.
// reset starts the compressor afresh (no context takeover).
func (c *compressor) compressFrame(op Opcode, p []byte, masked, reset bool) (*[]byte, int) {
	c.out.buf = bufpool.Get(frame.MaxHeaderSize + len(p)/2 + 64)
	*c.out.buf = (*c.out.buf)[:frame.MaxHeaderSize]
	if reset {
		c.fw.Reset(&c.out)
	}
	c.fw.Write(p)
	c.fw.Flush()
	buf := c.out.buf
	c.out.buf = nil
	b := *buf
	// A sync flush always ends in 00 00 ff ff; RFC 7692 §7.2.1 drops it.
	payload := b[frame.MaxHeaderSize : len(b)-4]
	h := frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: byte(op), Masked: masked, Length: int64(len(payload))}
	start := frame.MaxHeaderSize - frame.Size(h.Length, masked)
	if masked {
		randomKey(&h.Key)
		frame.Mask(payload, h.Key, 0)
	}
	frame.Encode(b[start:], h)
	*buf = b[:len(b)-4]
	return buf, start
}

// inflater is a pooled flate reader and the bytes.Reader it reads from.
type inflater struct {
	fr  io.ReadCloser
	src bytes.Reader
}

var inflaterPool = sync.Pool{New: func() any {
	f := &inflater{}
	f.fr = flate.NewReader(&f.src)
	return f
}}

// errInflate marks a compressed message that is not valid deflate data.
var errInflate = errors.New("gws: invalid compressed data")

// inflate decompresses a whole message, in, whose buffer has room for
// deflateTail, refusing to produce more than limit bytes: a small
// compressed message cannot inflate into gigabytes. dict is the peer's
// window from earlier messages, nil without context takeover.
func inflate(in *[]byte, dict []byte, limit int) (*[]byte, error) {
	*in = append(*in, deflateTail...)
	f := inflaterPool.Get().(*inflater)
	defer inflaterPool.Put(f)
	f.src.Reset(*in)
	f.fr.(flate.Resetter).Reset(&f.src, dict)
	out := bufpool.Get(min(max(len(*in)*4, 512), limit+1))
	*out = (*out)[:0]
	for {
		if len(*out) == cap(*out) {
			out = bufpool.Grow(out, min(len(*out), limit+1-len(*out)), limit+1)
		}
		b := *out
		n, err := f.fr.Read(b[len(b):cap(b)])
		*out = b[:len(b)+n]
		if len(*out) > limit {
			bufpool.Put(out)
			return nil, protocolError(CloseMessageTooBig, errMessageTooBig, "message inflates past %d bytes", limit)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			bufpool.Put(out)
			return nil, protocolError(CloseInvalidPayload, errInflate, "%v", err)
		}
	}
}

// slideWindow keeps in win the last size bytes of the stream win+p: the
// history a peer with context takeover may refer back into.
func slideWindow(win *[]byte, p []byte, size int) {
	w := *win
	if len(p) >= size {
		w = append(w[:0], p[len(p)-size:]...)
	} else {
		if keep := size - len(p); len(w) > keep {
			w = w[:copy(w, w[len(w)-keep:])]
		}
		w = append(w, p...)
	}
	*win = w
}
