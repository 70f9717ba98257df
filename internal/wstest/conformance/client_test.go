package conformance_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/fuzzserver"
)

// TestCasesAgainstGWSClient runs every case of sections 1 to 7, 9 (scaled
// down), 10, 12 and 13 against gws's client, from the server's end
// (Case.CheckClient, served by package fuzzserver), four at a time. It is
// here rather than in package fuzzserver so that it and
// TestDriverAgainstReference, the two heaviest runs of the module, share a
// test binary and run one after the other: go test runs packages side by
// side, and the two together under the race detector on CI's two cores
// starve each other's 2 s timeouts.
func TestCasesAgainstGWSClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cases := append(conformance.Cases(), conformance.PerformanceCases(64)...)
	s := fuzzserver.New(ln, cases)
	defer s.Close()
	// Those of a client under Autobahn's test: messages of up to 16 MiB
	// in section 9, permessage-deflate in sections 12 and 13.
	opts := &gws.ClientOptions{ReadMaxPayloadSize: 64 << 20, HandshakeTimeout: 5 * time.Second, CompressEnabled: true}
	sem := make(chan struct{}, conformance.Parallel)
	var wg sync.WaitGroup
	for i := range cases {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			url := fmt.Sprintf("%s/runCase?case=%d&agent=gws", s.URL(), i+1)
			c, _, err := gws.Dial(context.Background(), url, wstest.Echo{}, opts)
			if err != nil {
				t.Errorf("case %d: %v", i+1, err)
				return
			}
			<-c.Context.Done()
		})
	}
	wg.Wait()
	s.Close() // waits for the server's end of every case
	for _, r := range s.Results("gws") {
		t.Run(r.Case.ID, func(t *testing.T) {
			if r.Err != nil {
				t.Errorf("case %s: %s\nexpected: %s\ngot: %v", r.Case.ID, r.Case.Desc, r.Case.Expect, r.Err)
			}
		})
	}
}
