package gws

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

// The permessage-deflate codec (RFC 7692 §7.2); negotiation is in
// extension.go.
//
// DEFLATE implementations in Go (compress/flate and its drop-in
// replacements) always keep a 32 KiB window and have no setting for a
// smaller one, so when a peer asks gws to compress with a window under 2^15
// bytes, gws compresses with flate.HuffmanOnly: Huffman-coded literals with
// no back-references at all, which any window size can decode.

// Codec is the DEFLATE (RFC 1951) implementation permessage-deflate
// compresses and decompresses with, set by ServerOptions.CompressCodec or
// ClientOptions.CompressCodec. nil means the standard library's
// compress/flate; github.com/gwsgo/gws/compress/klauspost plugs in
// github.com/klauspost/compress/flate, which is faster.
//
// Its methods have the shape of compress/flate's functions, and what they
// return must have the methods of what those return: the writer must also
// have Flush() error and Reset(io.Writer), as *flate.Writer has, and the
// reader must implement flate.Resetter. gws pools both, resets them
// between messages, and checks the methods when the Upgrader or Dial first
// uses the codec.
type Codec interface {
	// NewWriter returns a compressor writing to w at level, from
	// flate.HuffmanOnly (-2) to flate.BestCompression (9).
	NewWriter(w io.Writer, level int) (io.WriteCloser, error)
	// NewReader returns a decompressor reading from r.
	NewReader(r io.Reader) io.ReadCloser
}

// stdFlate is the default Codec, compress/flate.
type stdFlate struct{}

func (stdFlate) NewWriter(w io.Writer, level int) (io.WriteCloser, error) {
	return flate.NewWriter(w, level)
}

func (stdFlate) NewReader(r io.Reader) io.ReadCloser { return flate.NewReader(r) }

// deflateWriter is what gws needs of a Codec's writer.
type deflateWriter interface {
	io.Writer
	Flush() error
	Reset(io.Writer)
}

// codec is a Codec with gws's pools of its writers and readers.
type codec struct {
	impl Codec

	// writers holds compressors that carry no context between messages,
	// one pool per level from HuffmanOnly (-2) to BestCompression (9). A
	// flate writer is some 600 KiB, so sharing them is what makes
	// compression affordable at many connections.
	writers [flate.BestCompression + 3]sync.Pool
	readers sync.Pool // *inflater
}

// stdCodec is the codec of every configuration without a CompressCodec,
// so they all share its pools.
var stdCodec = newCodec(stdFlate{})

// newCodec wraps impl, checking once that what it makes has the methods
// gws calls: a Codec that lacks them is a programming error, reported
// where it is configured rather than on the first compressed message.
func newCodec(impl Codec) *codec {
	w, err := impl.NewWriter(io.Discard, flate.BestSpeed)
	if err != nil {
		panic(fmt.Sprintf("gws: CompressCodec %T: NewWriter: %v", impl, err))
	}
	if _, ok := w.(deflateWriter); !ok {
		panic(fmt.Sprintf("gws: CompressCodec %T: its writer %T lacks Flush() error or Reset(io.Writer)", impl, w))
	}
	if _, ok := impl.NewReader(bytes.NewReader(nil)).(flate.Resetter); !ok {
		panic(fmt.Sprintf("gws: CompressCodec %T: its reader does not implement flate.Resetter", impl))
	}
	k := &codec{impl: impl}
	k.readers.New = func() any {
		f := &inflater{}
		f.fr = impl.NewReader(&f.src)
		return f
	}
	return k
}

// deflateTail is what RFC 7692 §7.2.1 strips from the end of every
// compressed message (an empty stored block left by a sync flush), followed
// by an empty final stored block so that the inflater reports io.EOF at the
// message's end instead of waiting for more input.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// appendWriter is the io.Writer a flate writer fills: it appends to a
// pooled buffer, growing it from the pool.
type appendWriter struct{ buf *[]byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = bufpool.Grow(w.buf, len(p), math.MaxInt)
	*w.buf = append(*w.buf, p...)
	return len(p), nil
}

// compressor is a codec's writer bound to the appendWriter it writes into.
type compressor struct {
	fw  deflateWriter
	out appendWriter
}

// newCompressor returns a compressor of its own, not from the pool.
func (k *codec) newCompressor(level int) *compressor {
	c := &compressor{}
	w, _ := k.impl.NewWriter(&c.out, level) // newCodec checked the codec, config.withDefaults the level
	c.fw = w.(deflateWriter)
	return c
}

func (k *codec) getCompressor(level int) *compressor {
	if v := k.writers[level+2].Get(); v != nil {
		return v.(*compressor)
	}
	return k.newCompressor(level)
}

func (k *codec) putCompressor(level int, c *compressor) {
	c.out.buf = nil
	k.writers[level+2].Put(c)
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

// inflater is a pooled codec reader and the bytes.Reader it reads from.
type inflater struct {
	fr  io.ReadCloser
	src bytes.Reader
}

// errInflate marks a compressed message that is not valid deflate data.
var errInflate = errors.New("gws: invalid compressed data")

// inflate decompresses a whole message, in, whose buffer has room for
// deflateTail, refusing to produce more than limit bytes: a small
// compressed message cannot inflate into gigabytes. dict is the peer's
// window from earlier messages, nil without context takeover. The output
// buffer's growth is taken from c's memory budget first (c may be nil).
func (k *codec) inflate(in *[]byte, dict []byte, limit int, c *Conn) (*[]byte, error) {
	*in = append(*in, deflateTail...)
	f := k.readers.Get().(*inflater)
	defer k.readers.Put(f)
	f.src.Reset(*in)
	f.fr.(flate.Resetter).Reset(&f.src, dict)
	first := min(max(len(*in)*4, 512), limit+1)
	if err := c.holdMore(int64(bufpool.Cap(first))); err != nil {
		return nil, err
	}
	out := bufpool.Get(first)
	*out = (*out)[:0]
	for {
		if len(*out) == cap(*out) {
			n := min(len(*out), limit+1-len(*out))
			if err := c.holdMore(int64(bufpool.GrowCap(len(*out), cap(*out), n, limit+1) - cap(*out))); err != nil {
				bufpool.Put(out)
				return nil, err
			}
			out = c.grow(out, n, limit+1)
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
