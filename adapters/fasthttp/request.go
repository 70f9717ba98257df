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
	header := make(http.Header, ctx.Request.Header.Len())
	for k, v := range ctx.Request.Header.All() {
		header.Add(string(k), string(v))
	}
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
