package conformance

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// Case is one conformance case: what the client sends and what the server
// must do for Autobahn|Testsuite to grade it OK.
type Case struct {
	// ID is Autobahn's case number, such as "5.19".
	ID string
	// Desc says what the client sends.
	Desc string
	// Expect says what the server must do.
	Expect string

	// offers are the Sec-WebSocket-Extensions header lines of the
	// handshake, each holding one or more comma-separated offers; none for
	// the cases that negotiate no extension.
	offers []string
	run    func(s *session) error
}

// ErrNonStrict marks an outcome Autobahn grades NON-STRICT rather than
// FAILED: the server kept to the letter of RFC 6455 but not to its intent,
// for example by detecting invalid UTF-8 only at the end of a message
// instead of at the first bad byte. Check wraps it so that callers can
// tell such outcomes apart; Run counts them as failures.
var ErrNonStrict = errors.New("non-strict behaviour")

// Check runs the case on a new connection to the server at addr (host:port)
// and path. It returns nil if the server behaved as the case expects and
// otherwise an error that says what it did instead.
func (c Case) Check(addr, path string) error {
	return c.check(func(header http.Header) (*rawclient.Conn, *http.Response, error) {
		return rawclient.Dial(addr, path, header)
	})
}

// check runs the case on the connection dial opens with header added to
// the handshake.
func (c Case) check(dial func(header http.Header) (*rawclient.Conn, *http.Response, error)) error {
	var header http.Header
	if len(c.offers) > 0 {
		header = http.Header{"Sec-Websocket-Extensions": c.offers}
	}
	conn, resp, err := dial(header)
	if err != nil {
		return err
	}
	defer conn.Close()
	s := &session{c: conn}
	// RFC 6455, section 9.1: a server answers only with extensions the
	// client offered, and a client fails a connection on any other.
	a, err := negotiated(c.offers, resp.Header)
	if err != nil {
		return err
	}
	if a != nil {
		s.deflate = newDeflater(a)
		defer s.deflate.release()
	}
	return s.run(c)
}

// CheckClient runs the case against a WebSocket client, from the
// server's end of nc: the client's opening request has been read (its
// Sec-WebSocket-Extensions offers are in header), and br holds whatever
// the client sent after it. CheckClient chooses how to answer the offers
// (in sections 12 and 13 it accepts permessage-deflate as Autobahn's
// fuzzingserver does; elsewhere it declines) and calls accept with the
// Sec-WebSocket-Extensions value to send, "" for none, for the caller to
// complete the handshake. It then plays the case with the roles swapped
// (see serverEnd) and returns nil if the client behaved as the case
// expects of a server, and otherwise an error that says what it did
// instead. An error from accept is returned as it is.
func (c Case) CheckClient(nc net.Conn, br *bufio.Reader, header http.Header, accept func(extensions string) error) error {
	answer, a := acceptDeflate(header, acceptPolicy(c.ID))
	if err := accept(answer); err != nil {
		return err
	}
	end := newServerEnd(nc, br)
	s := &session{c: rawclient.NewConn(end, bufio.NewReaderSize(end, 64<<10), nil)}
	if a != nil {
		s.deflate = newDeflater(a)
		defer s.deflate.release()
	}
	return s.run(c)
}

// Tell returns a case of no section that sends text as one text message,
// or nothing when text is empty, and then closes the connection normally:
// what Autobahn's fuzzingserver does on the endpoints that only inform a
// client (the number of cases, a case's description), run with
// CheckClient.
func Tell(text string) Case {
	return Case{
		Desc:   "Send the text as one text message, then close normally.",
		Expect: "Close normally.",
		run: func(s *session) error {
			if text != "" {
				s.send(frame(rawclient.OpText, true, text))
			}
			return s.closeNormally()
		},
	}
}

// Section returns the case's top-level section number, as Cases selects it.
func (c Case) Section() int {
	major, _, _ := strings.Cut(c.ID, ".")
	n, _ := strconv.Atoi(major)
	return n
}

// Cases returns the cases of the given top-level sections (1 framing,
// 2 pings and pongs, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8,
// 7 close handling, 10 automatic fragmentation, 12 and 13 permessage-deflate)
// in Autobahn's order, or all of them when no section is given. The cases
// of sections 12 and 13 need a server that accepts permessage-deflate; a
// server that declines it fails them, so select 1–7 and 10 for one that
// does not compress.
func Cases(sections ...int) []Case {
	var all []Case
	for _, group := range [][]Case{
		framingCases(),
		pingCases(),
		reservedBitCases(),
		opcodeCases(),
		fragmentationCases(),
		utf8Cases(),
		closeCases(),
		autoFragmentationCases(),
		compressionCases(),
		negotiationCases(),
	} {
		all = append(all, group...)
	}
	if len(sections) == 0 {
		return all
	}
	var picked []Case
	for _, c := range all {
		for _, s := range sections {
			if c.Section() == s {
				picked = append(picked, c)
			}
		}
	}
	return picked
}

// Parallel is how many cases Run lets run at once: enough to overlap
// their waits, few enough that the timing-sensitive cases (fail-fast
// UTF-8, quiet periods) are not starved on a small CI machine running the
// race detector.
const Parallel = 4

// Run runs each case as the subtest t.Run(c.ID, ...) against the server at
// addr (host:port) and path, which must echo every text and binary message
// back unchanged with the same opcode. A case the server fails is reported
// with t.Error. Cases run concurrently, each on its own connection, and
// Run returns when all are done, so a server stopped after Run returns has
// served every case.
func Run(t *testing.T, addr, path string, cases []Case) {
	t.Helper()
	run(t, cases, func(c Case) error { return c.Check(addr, path) })
}

// run runs each case with check as Run describes.
func run(t *testing.T, cases []Case, check func(Case) error) {
	t.Helper()
	sem := make(chan struct{}, Parallel)
	var wg sync.WaitGroup
	for _, c := range cases {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t.Run(c.ID, func(t *testing.T) {
				if err := check(c); err != nil {
					t.Errorf("case %s: %s\nexpected: %s\ngot: %v", c.ID, c.Desc, c.Expect, err)
				}
			})
		})
	}
	wg.Wait()
}
