package main

import (
	"errors"
	"net"
	"testing"

	"github.com/gwsgo/gws/internal/wstest"
)

func TestMain(m *testing.M) { wstest.VerifyTestMain(m) }

// TestConformance runs the Autobahn-style cases against the echo server on
// every router, exactly as `go run ./examples/echo -router NAME` serves.
func TestConformance(t *testing.T) {
	for name, serve := range routers {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- serve(ln, newUpgrader(), wstest.Echo{}) }()
			wstest.Run(t, ln.Addr().String(), "/", wstest.Cases(1, 2, 3, 4, 5, 6, 7, 10))
			ln.Close()
			if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("server: %v", err)
			}
		})
	}
}
