package conformance

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// flushMarker is what a sync flush ends with and RFC 7692, section 7.2.1
// has the sender strip from each compressed message and the receiver put
// back.
var flushMarker = []byte{0x00, 0x00, 0xff, 0xff}

// finalEmptyBlock is appended after the marker when inflating, so that the
// stream has a final block and the inflater stops at the message's end
// instead of asking for more input. A sender may already have ended with
// a final block (RFC 7692, section 7.2.3.4); what follows it is not read.
var finalEmptyBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// codecs keeps the flate writers and readers of finished cases for the
// next ones: a writer holds about a megabyte, and a sync.Pool, which the
// race detector makes drop a share of what it is given, would have every
// case allocate and clear one anew.
var codecs = make(chan codec, 2*Parallel)

type codec struct {
	w *flate.Writer
	r io.ReadCloser
}

func getCodec() codec {
	select {
	case c := <-codecs:
		return c
	default:
		w, _ := flate.NewWriter(nil, flate.BestSpeed)
		return codec{w: w, r: flate.NewReader(bytes.NewReader(nil))}
	}
}

// deflater is the client's side of an agreement: it compresses what the
// client sends and inflates what the server sends.
type deflater struct {
	a *agreement

	w   *flate.Writer
	out bytes.Buffer
	// fresh is set while w carries nothing of earlier messages.
	fresh bool

	r   io.ReadCloser
	src bytes.Reader
	// history holds the last 2^serverBits bytes of the server's compressed
	// messages while the server may refer back into them.
	history []byte
}

func newDeflater(a *agreement) *deflater {
	c := getCodec()
	d := &deflater{a: a, w: c.w, r: c.r, fresh: true}
	d.w.Reset(&d.out)
	return d
}

// release hands the writer and reader on to later cases.
func (d *deflater) release() {
	d.w.Reset(nil)
	select {
	case codecs <- codec{d.w, d.r}:
	default:
	}
	d.w, d.r = nil, nil
}

// compress returns p as the payload of a compressed message. With a window
// of 2^15 the client keeps its context from message to message unless the
// agreement forbids it, so that a server that forgets the client's history
// fails to inflate. compress/flate knows only 32 KiB windows, so under a
// smaller one the client compresses each window-sized piece afresh: no
// back-reference can then reach farther than the piece, and no piece
// refers to an earlier message.
func (d *deflater) compress(p []byte) []byte {
	d.out.Reset()
	if d.a.clientBits < 15 {
		piece := 1 << d.a.clientBits
		for off := 0; off == 0 || off < len(p); off += piece {
			d.w.Reset(&d.out)
			d.w.Write(p[off:min(off+piece, len(p))])
			d.w.Flush()
		}
		d.fresh = false
	} else {
		if d.a.clientNoContext && !d.fresh {
			d.w.Reset(&d.out)
		}
		d.w.Write(p)
		d.w.Flush()
		d.fresh = false
	}
	b := d.out.Bytes()
	return bytes.Clone(b[:len(b)-len(flushMarker)])
}

// inflate decompresses the payload of a compressed message from the
// server and checks that it keeps to the agreement: no reference back
// farther than the agreed window, none into earlier messages without
// context takeover.
func (d *deflater) inflate(p []byte) ([]byte, error) {
	stream := make([]byte, 0, len(p)+len(flushMarker)+len(finalEmptyBlock))
	stream = append(append(append(stream, p...), flushMarker...), finalEmptyBlock...)
	var dict []byte
	if !d.a.serverNoContext {
		dict = d.history
	}
	d.src.Reset(stream)
	d.r.(flate.Resetter).Reset(&d.src, dict)
	var out bytes.Buffer
	_, err := io.Copy(&out, io.LimitReader(d.r, rawclient.MaxPayload+1))
	if err == nil && out.Len() > rawclient.MaxPayload {
		err = fmt.Errorf("it inflates past the %d bytes the client accepts", rawclient.MaxPayload)
	}
	if err != nil || d.a.serverBits < 15 {
		if why := d.explain(stream); why != nil {
			return nil, why
		}
	}
	if err != nil {
		return nil, fmt.Errorf("it does not inflate: %v", err)
	}
	if !d.a.serverNoContext {
		d.history = append(d.history, out.Bytes()...)
		if over := len(d.history) - 1<<d.a.serverBits; over > 0 {
			d.history = append(d.history[:0], d.history[over:]...)
		}
	}
	return out.Bytes(), nil
}

// explain walks the stream for what compress/flate does not check or
// does not say: a reference past the agreed window, or into earlier
// messages when there is no context takeover or no such history.
func (d *deflater) explain(stream []byte) error {
	refs, err := scanDeflate(stream)
	if err != nil {
		return fmt.Errorf("it is no valid DEFLATE stream: %v", err)
	}
	window := 1 << d.a.serverBits
	switch {
	case refs.farthest > window:
		return fmt.Errorf("it refers %d bytes back, beyond the agreed window of %d bytes (server_max_window_bits=%d)", refs.farthest, window, d.a.serverBits)
	case refs.beforeStart > 0 && d.a.serverNoContext:
		return fmt.Errorf("it refers %d bytes back before its start, into an earlier message, after server_no_context_takeover was agreed", refs.beforeStart)
	case refs.beforeStart > len(d.history):
		return fmt.Errorf("it refers %d bytes back before its start, where the server's earlier compressed messages hold only %d bytes", refs.beforeStart, len(d.history))
	}
	return nil
}

// errDeclined is the outcome of a compression case whose server did not
// accept permessage-deflate; Autobahn grades it UNIMPLEMENTED.
var errDeclined = errors.New("server declined every permessage-deflate offer (answered without Sec-WebSocket-Extensions), so nothing was compressed; Autobahn grades this UNIMPLEMENTED")
