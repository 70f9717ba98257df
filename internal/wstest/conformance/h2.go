package conformance

import (
	"net/http"
	"testing"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// CheckH2 runs the case on a new stream of h for path, as Check does over
// TCP.
func (c Case) CheckH2(h *rawclient.H2Conn, path string) error {
	return c.check(func(header http.Header) (*rawclient.Conn, *http.Response, error) { return h.Dial(path, header) })
}

// RunH2 is Run over HTTP/2: every case runs on its own stream of one
// HTTP/2 connection to the HTTPS server at addr.
func RunH2(t *testing.T, addr, path string, cases []Case) {
	t.Helper()
	h, err := rawclient.DialH2(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	run(t, cases, func(c Case) error { return c.CheckH2(h, path) })
}
