package conformance

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
)

// deflateRaw compresses p as a sync-flushed stream closed by a final
// empty block, with dict as history.
func deflateRaw(t *testing.T, p []byte, level int, dict []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriterDict(&b, level, dict)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	w.Close()
	return b.Bytes()
}

// TestScanDeflate checks the stream walker against compress/flate's
// output: every block type, and references into a dictionary.
func TestScanDeflate(t *testing.T) {
	random := make([]byte, 70000)
	rand.Read(random)
	text := jsonCorpus.bytes()[:100000]
	for _, tc := range []struct {
		name     string
		data     []byte
		level    int
		farthest func(int) bool
	}{
		{"empty", nil, flate.DefaultCompression, func(d int) bool { return d == 0 }},
		{"stored", text[:5000], flate.NoCompression, func(d int) bool { return d == 0 }},
		{"huffman only", text, flate.HuffmanOnly, func(d int) bool { return d == 0 }},
		{"fixed codes", []byte("abcabcabcabcabc"), flate.DefaultCompression, func(d int) bool { return d == 3 }},
		{"best speed", text, flate.BestSpeed, func(d int) bool { return d > 256 && d <= 32768 }},
		{"best compression", text, flate.BestCompression, func(d int) bool { return d > 256 && d <= 32768 }},
		{"incompressible", random, flate.DefaultCompression, func(d int) bool { return d <= 32768 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refs, err := scanDeflate(deflateRaw(t, tc.data, tc.level, nil))
			if err != nil {
				t.Fatal(err)
			}
			if refs.out != len(tc.data) || !tc.farthest(refs.farthest) || refs.beforeStart != 0 {
				t.Errorf("scan says %+v for %d bytes", refs, len(tc.data))
			}
		})
	}
	dict := text[:20000]
	refs, err := scanDeflate(deflateRaw(t, text[:2000], flate.BestCompression, dict))
	if err != nil || refs.beforeStart <= 0 || refs.beforeStart > len(dict) {
		t.Errorf("a message that repeats its dictionary: %+v, %v", refs, err)
	}
	stream := deflateRaw(t, text[:3000], flate.BestSpeed, nil)
	if _, err := scanDeflate(stream[:len(stream)/2]); err == nil {
		t.Error("half a stream scanned without error")
	}
}

// TestDeflaterKeepsAgreement checks the client's compressor against each
// agreement: what it sends inflates, refers back no farther than the
// client's window, and into earlier messages only with context takeover.
func TestDeflaterKeepsAgreement(t *testing.T) {
	src := corpusReader{c: htmlCorpus}
	for _, bits := range []int{8, 9, 12, 15} {
		for _, noContext := range []bool{false, true} {
			d := newDeflater(&agreement{clientBits: bits, clientNoContext: noContext, serverBits: 15})
			var history []byte
			for i := range 4 {
				p := src.next(3000 + 20000*i)
				z := append(d.compress(p), flushMarker...)
				z = append(z, finalEmptyBlock...)
				refs, err := scanDeflate(z)
				if err != nil {
					t.Fatalf("window %d: %v", bits, err)
				}
				if refs.farthest > 1<<bits || (refs.beforeStart > 0 && (noContext || bits < 15)) {
					t.Errorf("window %d, no context %v, message %d: %+v", bits, noContext, i, refs)
				}
				got, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(z), history))
				if err != nil || !bytes.Equal(got, p) {
					t.Errorf("window %d, no context %v, message %d does not inflate back: %v", bits, noContext, i, err)
				}
				history = append(history, p...)
			}
			d.release()
		}
	}
}

// TestNegotiated checks the reading of answers against offers.
func TestNegotiated(t *testing.T) {
	const b = autobahnOffer
	for _, tc := range []struct {
		offers []string
		answer string // "" for none
		want   string // the agreement's String, or an error's fragment
	}{
		{[]string{b}, "", "<nil>"},
		{[]string{b}, "permessage-deflate", "server window 2^15 bytes, context takeover; client window 2^15 bytes, no context takeover"},
		{[]string{"permessage-deflate"}, "permessage-deflate", "client window 2^15 bytes, context takeover"},
		{[]string{b}, `permessage-deflate; client_max_window_bits="10"; server_no_context_takeover`, "server window 2^15 bytes, no context takeover; client window 2^10 bytes"},
		{[]string{"permessage-deflate; client_max_window_bits=9"}, "permessage-deflate", "client window 2^9 bytes, context takeover"},
		{[]string{"permessage-deflate; server_max_window_bits=10"}, "permessage-deflate; server_max_window_bits=8", "server window 2^8 bytes, context takeover"},
		{[]string{"permessage-deflate; server_max_window_bits=10, permessage-deflate"}, "permessage-deflate", "server window 2^15"},
		{[]string{"x-foo", "permessage-deflate"}, "permessage-deflate", "server window 2^15"},
		{nil, "permessage-deflate", "offered no extension"},
		{[]string{b}, "x-foo", "other than permessage-deflate"},
		{[]string{b}, "permessage-deflate, permessage-deflate", "2 extensions"},
		{[]string{b}, "permessage-deflate; client_max_window_bits", "client_max_window_bits has no value"},
		{[]string{b}, "permessage-deflate; server_max_window_bits=08", "without leading zeros"},
		{[]string{b}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "appears twice"},
		{[]string{b}, "permessage-deflate; server_no_context_takeover=yes", "takes none"},
		{[]string{b}, "permessage-deflate; level=9", "unknown parameter level"},
		{[]string{b}, "permessage-deflate; a b", "not a token"},
		{[]string{"permessage-deflate"}, "permessage-deflate; client_max_window_bits=12", "did not name it"},
		{[]string{"permessage-deflate; client_max_window_bits=10"}, "permessage-deflate; client_max_window_bits=12", "larger than the 10 offered"},
		{[]string{"permessage-deflate; server_max_window_bits=10"}, "permessage-deflate", "answering with a value no larger"},
		{[]string{"permessage-deflate; server_no_context_takeover"}, "permessage-deflate", "means answering with it"},
		{[]string{"permessage-deflate; server_max_window_bits=7"}, "permessage-deflate", "must decline it"},
	} {
		h := http.Header{}
		if tc.answer != "" {
			h.Set("Sec-WebSocket-Extensions", tc.answer)
		}
		a, err := negotiated(tc.offers, h)
		got := "<nil>"
		switch {
		case err != nil:
			got = err.Error()
		case a != nil:
			got = a.String()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("offers %q, answer %q:\ngot  %s\nwant %s", tc.offers, tc.answer, got, tc.want)
		}
	}
}
