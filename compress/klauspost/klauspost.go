// Package gwsklauspost plugs github.com/klauspost/compress/flate, a faster
// DEFLATE implementation than the standard library's, into gws's
// permessage-deflate.
//
//	upgrader := &gws.Upgrader{ServerOptions: &gws.ServerOptions{
//		CompressEnabled: true,
//		CompressCodec:   gwsklauspost.Codec{},
//	}}
//
// The same goes for a client's gws.ClientOptions. Both ends of a
// connection may use different codecs: DEFLATE is DEFLATE.
package gwsklauspost

import (
	"io"

	gws "github.com/gwsgo/gws/core"
	"github.com/klauspost/compress/flate"
)

// Codec is klauspost/compress/flate as a gws.Codec. Its zero value is
// ready to use; gws pools the writers and readers it makes.
type Codec struct{}

var _ gws.Codec = Codec{}

// NewWriter returns a klauspost flate writer at level, which gws flushes
// and resets between messages.
func (Codec) NewWriter(w io.Writer, level int) (io.WriteCloser, error) {
	return flate.NewWriter(w, level)
}

// NewReader returns a klauspost flate reader, which gws resets with each
// message's dictionary (flate.Resetter).
func (Codec) NewReader(r io.Reader) io.ReadCloser { return flate.NewReader(r) }
