package servers

import (
	"net"
	"net/http"
)

// serveHTTP runs handler on net/http with the same server settings for every
// library that mounts on net/http.
func serveHTTP(ln net.Listener, handler http.Handler) error {
	srv := &http.Server{Handler: handler}
	return srv.Serve(ln)
}
