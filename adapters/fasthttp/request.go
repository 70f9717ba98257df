package gwsfasthttp

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gws "github.com/gwsgo/gws/core"
	"github.com/valyala/fasthttp"
)

// NewRequest converts the request of ctx into a gws.Request and copies the
// user values with string keys into its Storage (see the package
// documentation). Every string is copied out of fasthttp's buffers, so the
// result stays valid after the handler returns, unlike
// fasthttpadaptor.ConvertRequest's. The request has no body: a WebSocket
// handshake is a GET.
func NewRequest(ctx *fasthttp.RequestCtx) (*gws.Request, error) {
	uri := string(ctx.RequestURI())
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("gwsfasthttp: converting request: %w", err)
	}
	proto := string(ctx.Request.Header.Protocol())
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		return nil, fmt.Errorf("gwsfasthttp: converting request: bad protocol %q", proto)
	}
	header := convertHeader(&ctx.Request.Header)
	r := &http.Request{
		Method:     string(ctx.Method()),
		URL:        u,
		Proto:      proto,
		ProtoMajor: major,
		ProtoMinor: minor,
		Header:     header,
		Body:       http.NoBody,
		Host:       string(ctx.Host()),
		RemoteAddr: ctx.RemoteAddr().String(),
		RequestURI: uri,
		TLS:        ctx.TLSConnectionState(),
	}
	req := gws.NewRequest(r)
	req.RouterContext = ctx
	ctx.VisitUserValuesAll(func(k, v any) {
		if key, ok := k.(string); ok {
			req.Storage.Put(key, detached(v))
		}
	})
	return req, nil
}

// convertHeader copies h into an http.Header with three allocations
// whatever the number of headers: one string holding every name and value,
// one slice holding every value, and the map. fasthttp normalizes header
// names as net/http does, unless the server turns that off, when names are
// canonicalized here.
func convertHeader(h *fasthttp.RequestHeader) http.Header {
	n, size := 0, 0
	for k, v := range h.All() {
		n++
		size += len(k) + len(v)
	}
	var b strings.Builder
	b.Grow(size)
	for k, v := range h.All() {
		b.Write(k)
		b.Write(v)
	}
	all := b.String()
	values := make([]string, 0, n)
	header := make(http.Header, n)
	off := 0
	for k, v := range h.All() {
		name := all[off : off+len(k)]
		off += len(k)
		values = append(values, all[off:off+len(v)])
		off += len(v)
		if ck := http.CanonicalHeaderKey(name); ck != name {
			name = ck
		}
		if prev, ok := header[name]; ok {
			// Repeated headers are rare: let append copy.
			header[name] = append(prev[:len(prev):len(prev)], values[len(values)-1])
			continue
		}
		header[name] = values[len(values)-1 : len(values) : len(values)]
	}
	return header
}

// PutParams puts route parameters into req.Storage, each under
// gws.ParamKey(name), for routers on fasthttp that keep them apart from
// the user values NewRequest copies, as Fiber does: names lists them and
// value returns each one's value, in the shape of Fiber's Ctx.Params, so
// that the Fiber adapters pass c.Route().Params and c.Params. Values are
// copied, since they may point into fasthttp's buffers.
func PutParams(req *gws.Request, names []string, value func(name string, defaultValue ...string) string) {
	for _, name := range names {
		req.Storage.Put(gws.ParamKey(name), strings.Clone(value(name)))
	}
}

// detached returns v, or a copy of it when it may share memory with the
// RequestCtx, which fasthttp reuses for other requests.
func detached(v any) any {
	switch v := v.(type) {
	case string:
		return strings.Clone(v)
	case []byte:
		return bytes.Clone(v)
	}
	return v
}
