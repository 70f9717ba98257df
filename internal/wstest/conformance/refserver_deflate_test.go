package conformance

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
)

// The reference server's permessage-deflate, written apart from the
// driver's (its own offer parser, its own compression choices) so that a
// mistake in the driver is not mirrored here and hidden.

// deflateFlaws are the reference server's deliberate permessage-deflate
// mistakes.
type deflateFlaws struct {
	rsv1OnContinuation bool // sets RSV1 on every frame of a fragmented compressed echo
	ignoreNoContext    bool // keeps its compression context after agreeing server_no_context_takeover
	ignoreWindow       bool // compresses with a 32 KiB window after agreeing a smaller one
	forgetClientWindow bool // inflates each message alone while letting the client keep its context
	clientBitsUnasked  bool // answers client_max_window_bits to offers that did not name it
	acceptInvalid      bool // accepts the first permessage-deflate offer however malformed
	widenWindow        bool // answers server_max_window_bits=15 whatever was offered
	dropNoContext      bool // accepts server_no_context_takeover without answering it
	unsolicited        bool // answers permessage-deflate when nothing was offered
	unsupported        bool // declines every offer
}

// refDeflate is what a reference connection agreed.
type refDeflate struct {
	ownNoContext  bool // server_no_context_takeover
	peerNoContext bool // client_no_context_takeover
	ownBits       int

	w       *flate.Writer // kept between messages when ownNoContext is off
	level   int
	out     bytes.Buffer
	r       io.ReadCloser
	peerWin []byte // the client's recent data, when it keeps its context
}

// refWriters keeps the flate writers of ended connections, by level, for
// new ones, so that a run does not allocate a megabyte per connection.
var refWriters = map[int]chan *flate.Writer{5: make(chan *flate.Writer, 8), flate.HuffmanOnly: make(chan *flate.Writer, 8)}

// release hands d's writer on.
func (d *refDeflate) release() {
	if d.w == nil {
		return
	}
	select {
	case refWriters[d.level] <- d.w:
	default:
	}
	d.w = nil
}

// refNegotiate picks the first offer the reference server accepts, and
// returns the agreement and the answer line; nil if there is none.
func refNegotiate(offers []string, f deflateFlaws) (*refDeflate, string) {
	var all []string
	for _, v := range offers {
		all = append(all, strings.Split(v, ",")...)
	}
	switch {
	case len(all) == 0 && f.unsolicited:
		return &refDeflate{ownNoContext: true, peerNoContext: true, ownBits: 15}, "permessage-deflate"
	case f.unsupported:
		return nil, ""
	}
	for _, offer := range all {
		parts := strings.Split(offer, ";")
		if strings.TrimSpace(parts[0]) != "permessage-deflate" {
			continue
		}
		d := &refDeflate{ownBits: 15}
		answer := "permessage-deflate"
		seen := map[string]bool{}
		ok := true
		for _, p := range parts[1:] {
			name, val, hasVal := strings.Cut(strings.TrimSpace(p), "=")
			val = strings.Trim(val, `"`)
			bits, err := strconv.Atoi(val)
			goodBits := err == nil && bits >= 8 && bits <= 15 && val[0] != '0'
			if seen[name] {
				ok = false
			}
			seen[name] = true
			switch name {
			case "server_no_context_takeover":
				ok = ok && !hasVal
				d.ownNoContext = true
				if !f.dropNoContext {
					answer += "; server_no_context_takeover"
				}
			case "client_no_context_takeover":
				ok = ok && !hasVal
				d.peerNoContext = true
				answer += "; client_no_context_takeover"
			case "server_max_window_bits":
				ok = ok && goodBits
				d.ownBits = bits
				if f.widenWindow {
					bits = 15
				}
				answer += "; server_max_window_bits=" + strconv.Itoa(bits)
			case "client_max_window_bits":
				ok = ok && (!hasVal || goodBits)
				if !hasVal {
					// Narrow the client's window, so that the driver's
					// small-window compression meets a real inflater.
					answer += "; client_max_window_bits=12"
				}
			default:
				ok = false
			}
		}
		if f.clientBitsUnasked && !seen["client_max_window_bits"] {
			answer += "; client_max_window_bits=10"
		}
		if ok || f.acceptInvalid {
			if d.ownBits < 8 || d.ownBits > 15 {
				d.ownBits = 15
			}
			return d, answer
		}
	}
	return nil, ""
}

// compress returns p compressed, without the flush marker. Under a window
// below 2^15 it uses Huffman coding only, which refers back nowhere.
func (d *refDeflate) compress(p []byte, f deflateFlaws) []byte {
	switch {
	case d.w == nil:
		d.level = 5
		if d.ownBits < 15 && !f.ignoreWindow {
			d.level = flate.HuffmanOnly
		}
		select {
		case d.w = <-refWriters[d.level]:
		default:
			d.w, _ = flate.NewWriter(nil, d.level)
		}
		d.w.Reset(&d.out)
	case d.ownNoContext && !f.ignoreNoContext, d.level == flate.HuffmanOnly:
		d.w.Reset(&d.out)
	}
	d.out.Reset()
	d.w.Write(p)
	d.w.Flush()
	b := d.out.Bytes()
	return bytes.Clone(b[:len(b)-4])
}

// inflate decompresses a client's message, with the client's earlier data
// as dictionary when it may refer back into it.
func (d *refDeflate) inflate(p []byte, f deflateFlaws) ([]byte, bool) {
	var dict []byte
	if !d.peerNoContext && !f.forgetClientWindow {
		dict = d.peerWin
	}
	in := bytes.NewReader(append(bytes.Clone(p), 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff))
	if d.r == nil {
		d.r = flate.NewReaderDict(in, dict)
	} else {
		d.r.(flate.Resetter).Reset(in, dict)
	}
	out, err := io.ReadAll(d.r)
	if err != nil {
		return nil, false
	}
	if !d.peerNoContext {
		d.peerWin = append(d.peerWin, out...)
		if n := len(d.peerWin) - 32768; n > 0 {
			d.peerWin = append(d.peerWin[:0], d.peerWin[n:]...)
		}
	}
	return out, true
}

// writeMessage echoes p: uncompressed when short, else compressed and,
// when long, in frames of 8 KiB with RSV1 on the first.
func (c *refConn) writeMessage(op byte, p []byte) error {
	if c.deflate == nil || len(p) < 100 {
		return c.write(op, p)
	}
	z := c.deflate.compress(p, c.flaws.deflate)
	const piece = 8192
	var b []byte
	for off := 0; off == 0 || off < len(z); off += piece {
		end := min(off+piece, len(z))
		b0 := op
		if end == len(z) {
			b0 |= 0x80
		}
		if off == 0 || c.flaws.deflate.rsv1OnContinuation {
			b0 |= 0x40
		}
		b = append(b, b0)
		switch n := end - off; {
		case n <= 125:
			b = append(b, byte(n))
		case n <= 0xFFFF:
			b = binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
		default:
			b = binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
		}
		b = append(b, z[off:end]...)
		op = 0
	}
	_, err := c.nc.Write(b)
	return err
}
