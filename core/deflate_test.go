package gws

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/frame"
)

func TestNegotiateDeflate(t *testing.T) {
	cases := []struct {
		offer  string
		opts   ServerOptions
		answer string // "" means declined
	}{
		{"permessage-deflate", ServerOptions{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"permessage-deflate; client_max_window_bits", ServerOptions{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"permessage-deflate; client_max_window_bits=10", ServerOptions{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10"},
		{"permessage-deflate; server_max_window_bits=10", ServerOptions{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"},
		{`permessage-deflate; server_max_window_bits="9"`, ServerOptions{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"},
		{"permessage-deflate", ServerOptions{ServerContextTakeover: true, ClientContextTakeover: true}, "permessage-deflate"},
		{"permessage-deflate; server_no_context_takeover", ServerOptions{ServerContextTakeover: true, ClientContextTakeover: true}, "permessage-deflate; server_no_context_takeover"},
		{"permessage-deflate; client_no_context_takeover", ServerOptions{ServerContextTakeover: true, ClientContextTakeover: true}, "permessage-deflate; client_no_context_takeover"},
		{"permessage-deflate; server_max_window_bits=7", ServerOptions{}, ""},
		{"permessage-deflate; server_max_window_bits=16", ServerOptions{}, ""},
		{"permessage-deflate; server_max_window_bits", ServerOptions{}, ""},
		{"permessage-deflate; client_max_window_bits=0x0f", ServerOptions{}, ""},
		{"permessage-deflate; server_max_window_bits=09", ServerOptions{}, ""},
		{"permessage-deflate; server_no_context_takeover=1", ServerOptions{}, ""},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", ServerOptions{}, ""},
		{"permessage-deflate; mystery", ServerOptions{}, ""},
		{"x-webkit-deflate-frame", ServerOptions{}, ""},
		{"permessage-deflate; mystery, permessage-deflate; client_max_window_bits=8", ServerOptions{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=8"},
	}
	for _, c := range cases {
		h := http.Header{"Sec-Websocket-Extensions": {c.offer}}
		_, answer, ok := negotiateDeflate(h, c.opts.config())
		if answer != c.answer || ok != (c.answer != "") {
			t.Errorf("offer %q: answer %q (%v), want %q", c.offer, answer, ok, c.answer)
		}
	}
}

func TestNegotiateOnlyWhenEnabled(t *testing.T) {
	ext := func(r *http.Request) { r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate") }
	resp, err := (&Upgrader{}).Negotiate(upgradeRequest(ext))
	if err != nil || resp.extension != "" {
		t.Fatalf("compression off: %q %v", resp.extension, err)
	}
	resp, err = (&Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true}}).Negotiate(upgradeRequest(ext))
	if err != nil || !strings.HasPrefix(resp.extension, "permessage-deflate") {
		t.Fatalf("compression on: %q %v", resp.extension, err)
	}
	resp, err = (&Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true}}).Negotiate(upgradeRequest(func(r *http.Request) {
		r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; bogus")
	}))
	if err != nil || resp.extension != "" {
		t.Fatalf("a bad offer must be declined, not fail the handshake: %v %v", resp, err)
	}
}

// deflater is the test client's side of permessage-deflate.
type deflater struct {
	fw      *flate.Writer
	out     bytes.Buffer
	context bool
	history []byte // what the server sent, for inflating with its context
}

func newDeflater(context bool) *deflater {
	d := &deflater{context: context}
	d.fw, _ = flate.NewWriter(&d.out, flate.BestSpeed)
	return d
}

func (d *deflater) compress(p []byte) []byte {
	d.out.Reset()
	if !d.context {
		d.fw.Reset(&d.out)
	}
	d.fw.Write(p)
	d.fw.Flush()
	b := d.out.Bytes()
	return bytes.Clone(b[:len(b)-4])
}

func (d *deflater) decompress(t testing.TB, p []byte) []byte {
	t.Helper()
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail)), d.history)
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflating the server's message: %v", err)
	}
	if d.context {
		d.history = append(d.history, out...)
	}
	return out
}

// expectMessage reads one message from the server, inflating it when it
// carries RSV1, and compares it with want.
func (c *client) expectMessage(d *deflater, op byte, want []byte, compressed bool) {
	c.t.Helper()
	h, p, err := c.read()
	if err != nil {
		c.t.Fatal(err)
	}
	if h.Opcode != op || !h.Fin || (h.Rsv == frame.Rsv1) != compressed || h.Rsv&^frame.Rsv1 != 0 {
		c.t.Fatalf("got opcode %d rsv %#x, want opcode %d compressed %v", h.Opcode, h.Rsv, op, compressed)
	}
	if compressed {
		p = d.decompress(c.t, p)
	}
	if !bytes.Equal(p, want) {
		c.t.Fatalf("payload of %d bytes differs from the %d sent", len(p), len(want))
	}
}

func TestCompressedEcho(t *testing.T) {
	for _, ctx := range []bool{false, true} {
		opts := &ServerOptions{CompressEnabled: true, ServerContextTakeover: ctx, ClientContextTakeover: ctx}
		addr := serve(t, &Upgrader{ServerOptions: opts}, newRecorder())
		c := connect(t, addr, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
		up, down := newDeflater(ctx), newDeflater(ctx)
		for _, n := range []int{0, 16, 511, 512, 4096, 65536, 200000} {
			msg := []byte(strings.Repeat("All work and no play makes Jack a dull boy. ", n/44+1)[:n])
			c.send(0x80|frame.Rsv1|frame.OpText, up.compress(msg))
			c.expectMessage(down, frame.OpText, msg, n >= 512)
			// An uncompressed message on a compressing connection is fine.
			c.send(0x80|frame.OpBinary, msg)
			c.expectMessage(down, frame.OpBinary, msg, n >= 512)
		}
		// A compressed message in fragments: RSV1 on the first frame only.
		msg := bytes.Repeat([]byte("fragmented "), 100)
		z := up.compress(msg)
		c.send(frame.Rsv1|frame.OpBinary, z[:10])
		c.send(0x80|frame.OpContinuation, z[10:])
		c.expectMessage(down, frame.OpBinary, msg, true)
		c.send(0x80|frame.OpClose, closePayload(CloseNormal, ""))
		c.expectClose(CloseNormal)
	}
}

// TestSmallWindowUsesHuffmanOnly checks that a client asking for a window
// under 32 KiB gets output without back-references: Huffman codes take at
// least one bit a byte, so 8 KiB of one letter cannot shrink below 1 KiB,
// while any back-reference would bring it to a few bytes.
func TestSmallWindowUsesHuffmanOnly(t *testing.T) {
	addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true}}, newRecorder())
	c := connect(t, addr, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9")
	msg := bytes.Repeat([]byte{'a'}, 8192)
	c.send(0x80|frame.OpBinary, msg)
	h, p, err := c.read()
	if err != nil || h.Rsv != frame.Rsv1 {
		t.Fatalf("%+v %v", h, err)
	}
	if len(p) < len(msg)/8 {
		t.Fatalf("%d bytes compressed to %d: the output uses back-references", len(msg), len(p))
	}
	if out := newDeflater(false).decompress(t, p); !bytes.Equal(out, msg) {
		t.Fatal("Huffman-only output does not inflate to the message")
	}
}

func TestDeflateViolations(t *testing.T) {
	ext := "Sec-WebSocket-Extensions: permessage-deflate"
	z := newDeflater(false).compress([]byte("hello"))
	cases := []struct {
		name string
		wire []byte
		code Code
	}{
		{"rsv1 on continuation", append(encode(frame.OpText, []byte("a")), encode(0x80|frame.Rsv1|frame.OpContinuation, []byte("b"))...), CloseProtocolError},
		{"rsv1 on ping", encode(0x80|frame.Rsv1|frame.OpPing, nil), CloseProtocolError},
		{"rsv2", encode(0x80|frame.Rsv2|frame.OpText, z), CloseProtocolError},
		{"corrupt stream", encode(0x80|frame.Rsv1|frame.OpBinary, []byte{0xff, 0xff, 0xff, 0xff}), CloseInvalidPayload},
		{"compressed bad utf8", encode(0x80|frame.Rsv1|frame.OpText, newDeflater(false).compress([]byte("\xed\xa0\x80"))), CloseInvalidPayload},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true}}, newRecorder())
			c := connect(t, addr, ext)
			c.nc.Write(tc.wire)
			c.expectClose(tc.code)
		})
	}
}

// TestDecompressionBomb sends 64 KiB that inflate to 64 MiB. The
// connection must end with 1009 once the output passes the limit, and the
// server's memory must not grow anywhere near the inflated size.
func TestDecompressionBomb(t *testing.T) {
	const limit = 1 << 20
	var zero [1 << 16]byte
	d := newDeflater(false)
	d.fw, _ = flate.NewWriter(&d.out, flate.BestCompression)
	d.out.Reset()
	for range (1 << 26) / len(zero) {
		d.fw.Write(zero[:])
	}
	d.fw.Flush()
	bomb := d.out.Bytes()[:d.out.Len()-4]
	t.Logf("bomb: %d bytes inflating to 64 MiB", len(bomb))

	rec := newRecorder()
	addr := serve(t, &Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true, ReadMaxPayloadSize: limit}}, rec)
	c := connect(t, addr, "Sec-WebSocket-Extensions: permessage-deflate")
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c.send(0x80|frame.Rsv1|frame.OpBinary, bomb)
	c.expectClose(CloseMessageTooBig)
	rec.waitClosed(t)
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 16*limit {
		t.Fatalf("server allocated %d bytes inflating a bomb capped at %d", grown, limit)
	}
	if !errors.Is(rec.errs[0], errMessageTooBig) {
		t.Fatalf("OnError got %v", rec.errs[0])
	}
}

func TestSlideWindow(t *testing.T) {
	w := bufpool.Get(8)
	*w = (*w)[:0]
	for _, p := range []string{"abc", "defgh", "ij", "klmnopqrstu"} {
		slideWindow(w, []byte(p), 8)
	}
	if string(*w) != "nopqrstu" {
		t.Fatalf("window %q", *w)
	}
	slideWindow(w, []byte("vw"), 8)
	if string(*w) != "pqrstuvw" {
		t.Fatalf("window %q", *w)
	}
}

// FuzzInflate feeds arbitrary bytes to the inflater: it must never panic
// nor return more than the limit.
func FuzzInflate(f *testing.F) {
	f.Add(newDeflater(false).compress([]byte("hello, hello, hello")), false)
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, true)
	f.Add([]byte{0x00, 0x00, 0xff, 0xff}, false)
	f.Fuzz(func(t *testing.T, data []byte, withDict bool) {
		const limit = 1 << 16
		in := bufpool.Get(len(data) + len(deflateTail))
		*in = append((*in)[:0], data...)
		var dict []byte
		if withDict {
			dict = []byte("hello, world")
		}
		out, err := stdCodec.inflate(in, dict, limit, nil)
		if err == nil && len(*out) > limit {
			t.Fatalf("inflated %d bytes past the %d limit", len(*out), limit)
		}
		var ce *CloseError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("inflate error %v is not a close error", err)
		}
	})
}

// countingCodec is compress/flate through the Codec option, counting the
// writers and readers gws makes with it.
type countingCodec struct{ writers, readers *atomic.Int64 }

func (c countingCodec) NewWriter(w io.Writer, level int) (io.WriteCloser, error) {
	c.writers.Add(1)
	return flate.NewWriter(w, level)
}

func (c countingCodec) NewReader(r io.Reader) io.ReadCloser {
	c.readers.Add(1)
	return flate.NewReader(r)
}

// TestCompressCodec checks that both sides compress and decompress with
// the configured codec, not compress/flate's own pools.
func TestCompressCodec(t *testing.T) {
	server := countingCodec{new(atomic.Int64), new(atomic.Int64)}
	client := countingCodec{new(atomic.Int64), new(atomic.Int64)}
	u := &Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true, CompressCodec: server}}
	addr := serve(t, u, echoHandler{})
	c, _, log := dialRun(t, wsURL(addr, "/"), &ClientOptions{CompressEnabled: true, CompressCodec: client})
	msg := strings.Repeat("compressed by a codec of the user's choice. ", 40)
	c.WriteString(msg)
	log.expect(t, "open", "message 1 "+msg)
	for side, k := range map[string]countingCodec{"server": server, "client": client} {
		// newCodec's check makes one of each; compressing and inflating
		// a message need a second.
		if k.writers.Load() < 2 || k.readers.Load() < 2 {
			t.Errorf("%s codec made %d writers and %d readers", side, k.writers.Load(), k.readers.Load())
		}
	}
}

// plainWriterCodec's writer lacks Flush and Reset.
type plainWriterCodec struct{ stdFlate }

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func (plainWriterCodec) NewWriter(w io.Writer, level int) (io.WriteCloser, error) {
	return nopWriteCloser{w}, nil
}

func TestCompressCodecChecked(t *testing.T) {
	defer func() {
		if e := recover(); e == nil || !strings.Contains(fmt.Sprint(e), "lacks Flush") {
			t.Fatalf("a codec whose writer cannot flush: recovered %v", e)
		}
	}()
	(&Upgrader{ServerOptions: &ServerOptions{CompressEnabled: true, CompressCodec: plainWriterCodec{}}}).Stats()
}
