package gwsfasthttp

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzConvertHeader checks that convertHeader, which packs every name and
// value into one string, gives what copying them one by one gives, for
// any request fasthttp can parse, with its name normalizing on and off.
func FuzzConvertHeader(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\nX-A: 1\r\nx-a: 2\r\n\r\n"), false)
	f.Add([]byte("GET /ws HTTP/1.1\r\nhost: b\r\nsec-websocket-protocol: a, b\r\nCookie: c=1\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, raw []byte, keepCase bool) {
		var h fasthttp.RequestHeader
		h.DisableNormalizing()
		if !keepCase {
			h.EnableNormalizing()
		}
		if err := h.Read(bufio.NewReader(bytes.NewReader(raw))); err != nil {
			return
		}
		want := http.Header{}
		for k, v := range h.All() {
			want.Add(string(k), string(v))
		}
		if got := convertHeader(&h); !reflect.DeepEqual(got, want) {
			t.Fatalf("convertHeader = %q, want %q", got, want)
		}
	})
}
