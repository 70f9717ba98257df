package loadgen

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strconv"
)

// deflateTail is what a sync flush ends with; permessage-deflate leaves it
// off the wire and the receiver puts it back (RFC 7692 §7.2.1).
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// deflateMessage compresses p as one message with no context takeover: a
// raw DEFLATE stream of its own, flushed to a byte boundary, without the
// tail. The level is zlib's default, what browsers use.
func deflateMessage(p []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	_, _ = w.Write(p)
	_ = w.Flush()
	return bytes.TrimSuffix(b.Bytes(), deflateTail)
}

// inflateMessage undoes deflateMessage for a reply the server compressed,
// which it must have done without context takeover: the client asked for
// server_no_context_takeover.
func inflateMessage(p []byte) ([]byte, error) {
	// After the tail, an empty final stored block, so that the reader
	// ends at io.EOF and a truncated stream still shows as an error.
	end := append(deflateTail[:4:4], 0x01, 0x00, 0x00, 0xff, 0xff)
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(end)))
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("inflating reply: %w", err)
	}
	return out, nil
}

// makeJSON returns n bytes of text shaped like a chat or event API's JSON: an
// array of objects with ids, names, timestamps, a sentence and tags, cut to
// n bytes. Words come from a small vocabulary in a pseudo-random but fixed
// order, so it compresses as such traffic does (about 3 to 5 times), not as
// a repeated byte would.
func makeJSON(n int) []byte {
	words := []string{"the", "order", "was", "shipped", "to", "warehouse", "north", "and", "delivery",
		"is", "expected", "on", "monday", "please", "confirm", "invoice", "payment", "received", "status",
		"update", "customer", "asked", "about", "refund", "for", "item", "blue", "size", "medium", "thanks"}
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	rooms := []string{"general", "support", "billing", "random"}
	seed := uint32(2463534242)
	next := func(k int) int {
		// xorshift32: deterministic, so every run sends the same bytes.
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		return int(seed % uint32(k))
	}
	b := make([]byte, 0, n+512)
	b = append(b, '[')
	for id := 1; len(b) < n; id++ {
		if id > 1 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(100000+id*37+next(30)), 10)
		b = append(b, `,"user":"`...)
		b = append(b, users[next(len(users))]...)
		b = append(b, `","room":"`...)
		b = append(b, rooms[next(len(rooms))]...)
		b = append(b, `","ts":`...)
		b = strconv.AppendInt(b, int64(1718000000000+id*1337+next(1000)), 10)
		b = append(b, `,"text":"`...)
		for w := range 6 + next(10) {
			if w > 0 {
				b = append(b, ' ')
			}
			b = append(b, words[next(len(words))]...)
		}
		b = append(b, `","score":0.`...)
		b = strconv.AppendInt(b, int64(100+next(900)), 10)
		b = append(b, `,"tags":["`...)
		b = append(b, words[next(len(words))]...)
		b = append(b, `","`...)
		b = append(b, words[next(len(words))]...)
		b = append(b, `"],"read":`...)
		b = strconv.AppendBool(b, next(2) == 0)
		b = append(b, '}')
	}
	if n > 0 {
		b = append(b[:n-1], ']')
	}
	return b[:n]
}
