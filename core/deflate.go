package gws

import (
	"bytes"
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

// permessage-deflate (RFC 7692) with the standard library's compress/flate.
//
// compress/flate always keeps a 32 KiB window and has no setting for a
// smaller one, so when a peer asks gws to compress with a window under
// 2^15 bytes, gws compresses with flate.HuffmanOnly: Huffman-coded literals
// with no back-references at all, which any window size can decode.

const extensionName = "permessage-deflate"

// deflateTail is what RFC 7692 §7.2.1 strips from the end of every
// compressed message (an empty stored block left by a sync flush), followed
// by an empty final stored block so that the inflater reports io.EOF at the
// message's end instead of waiting for more input.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// deflateParams is a negotiated permessage-deflate agreement, seen from gws:
// "own" is what gws sends, "peer" what it receives.
type deflateParams struct {
	ownNoContext  bool // gws compresses each message alone
	peerNoContext bool // the peer compresses each message alone
	ownWindowBits int  // 8–15: the window gws may refer back into
	peerWindow    int  // 8–15: the window the peer may refer back into
}

// extensionParam is one parameter of an extension offer.
type extensionParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions splits Sec-WebSocket-Extensions values into offers: an
// extension name and its parameters (RFC 6455 §9.1, RFC 7692 §5). Values
// may be quoted.
func parseExtensions(h http.Header) [][]extensionParam {
	var offers [][]extensionParam
	for ext := range headerTokens(h, "Sec-WebSocket-Extensions") {
		var offer []extensionParam
		for part := range strings.SplitSeq(ext, ";") {
			name, value, has := strings.Cut(strings.TrimSpace(part), "=")
			value = strings.Trim(strings.TrimSpace(value), `"`)
			offer = append(offer, extensionParam{strings.TrimSpace(name), value, has})
		}
		offers = append(offers, offer)
	}
	return offers
}

// windowBits parses a *_max_window_bits value: "a decimal integer value
// without leading zeroes between 8 to 15" (RFC 7692 §7.1.2.1).
func windowBits(v string) (int, bool) {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, _ := strconv.Atoi(v)
	return n, n >= 8 && n <= 15
}

// pmdParams are the parameters of one permessage-deflate offer or answer
// as written (RFC 7692 §7.1); window sizes are 0 when absent.
type pmdParams struct {
	serverNoContext, clientNoContext bool
	serverBits, clientBits           int
	clientBitsBare                   bool // client_max_window_bits without a value
}

// errPMDParam reports an unknown, repeated or malformed parameter.
var errPMDParam = errors.New("gws: bad permessage-deflate parameter")

// parsePMD reads the parameters of one permessage-deflate element.
func parsePMD(params []extensionParam) (pmdParams, error) {
	var p pmdParams
	seen := make(map[string]bool, len(params))
	for _, prm := range params {
		if seen[prm.name] {
			return p, fmt.Errorf("%w: parameter %s repeated", errPMDParam, prm.name)
		}
		seen[prm.name] = true
		ok := true
		switch prm.name {
		case "server_no_context_takeover":
			ok = !prm.hasValue
			p.serverNoContext = true
		case "client_no_context_takeover":
			ok = !prm.hasValue
			p.clientNoContext = true
		case "server_max_window_bits":
			p.serverBits, ok = windowBits(prm.value)
		case "client_max_window_bits":
			if p.clientBitsBare = !prm.hasValue; prm.hasValue {
				p.clientBits, ok = windowBits(prm.value)
			}
		default:
			ok = false
		}
		if !ok {
			return p, fmt.Errorf("%w: parameter %q not valid", errPMDParam, prm.name+"="+prm.value)
		}
	}
	return p, nil
}

// negotiateDeflate picks the first permessage-deflate offer gws can accept
// and returns the agreement and the response value. An offer with an
// unknown, repeated or out-of-range parameter is declined, never an error
// (RFC 7692 §5).
func negotiateDeflate(h http.Header, o *ServerOptions) (deflateParams, string, bool) {
	for _, offer := range parseExtensions(h) {
		if offer[0].name != extensionName || offer[0].hasValue {
			continue
		}
		pp, err := parsePMD(offer[1:])
		if err != nil {
			continue
		}
		p := deflateParams{
			ownNoContext:  pp.serverNoContext || !o.ServerContextTakeover,
			peerNoContext: pp.clientNoContext || !o.ClientContextTakeover,
			ownWindowBits: cmp.Or(pp.serverBits, 15),
			peerWindow:    cmp.Or(pp.clientBits, 15),
		}
		answer := extensionName
		if p.ownNoContext {
			answer += "; server_no_context_takeover"
		}
		if p.peerNoContext {
			answer += "; client_no_context_takeover"
		}
		if pp.serverBits != 0 {
			answer += "; server_max_window_bits=" + strconv.Itoa(p.ownWindowBits)
		}
		if pp.clientBits != 0 && pp.clientBits < 15 {
			// Only ever answered when offered (RFC 7692 §7.1.2.2).
			answer += "; client_max_window_bits=" + strconv.Itoa(p.peerWindow)
		}
		return p, answer, true
	}
	return deflateParams{}, "", false
}

// peerHistory is how much of the peer's past output to keep for
// inflating its next message with context takeover: its window, but at
// least 2^9 bytes, because zlib, asked for an 8-bit window, uses 9 bits.
func (p *deflateParams) peerHistory() int { return 1 << max(p.peerWindow, 9) }

// level returns the flate level gws compresses with under p.
func (p *deflateParams) level(o *ServerOptions) int {
	if p.ownWindowBits < 15 {
		return flate.HuffmanOnly
	}
	return o.CompressLevel
}

// writerPools holds flate writers that carry no context between messages,
// one pool per level from HuffmanOnly (-2) to BestCompression (9). A flate
// writer is some 600 KiB, so sharing them is what makes compression
// affordable at many connections.
var writerPools [flate.BestCompression + 3]sync.Pool

// appendWriter is the io.Writer a flate writer fills: it appends to a
// pooled buffer, growing it from the pool.
type appendWriter struct{ buf *[]byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = bufpool.Grow(w.buf, len(p))
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
	c.fw, _ = flate.NewWriter(&c.out, level) // level is checked by withDefaults
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
			out = bufpool.Grow(out, min(len(*out), limit+1-len(*out)))
		}
		b := *out
		n, err := f.fr.Read(b[len(b):cap(b)])
		*out = b[:len(b)+n]
		if len(*out) > limit {
			bufpool.Put(out)
			return nil, protocolError(CloseMessageTooBig, ErrMessageTooBig, "message inflates past %d bytes", limit)
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
