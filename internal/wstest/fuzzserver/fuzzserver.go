package fuzzserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gwsgo/gws/internal/wstest/conformance"
)

// Server plays Autobahn|Testsuite's fuzzingserver: it tests WebSocket
// clients. A testee client speaks the fuzzingserver protocol:
//
//   - it opens a WebSocket to /getCaseCount and reads the number of cases
//     from the one text message the server sends before closing;
//   - for each case N from 1 on, it opens a WebSocket to
//     /runCase?case=N&agent=AGENT and echoes every text and binary message
//     back, with the same opcode, until the connection ends;
//   - it opens a WebSocket to /updateReports?agent=AGENT.
//
// /getCaseInfo?case=N and /getCaseStatus?case=N&agent=AGENT answer with a
// JSON text message, as Autobahn's do. Reports are not written to files:
// Results returns them.
//
// On a /runCase connection the server runs the case from its end
// (conformance.Case.CheckClient): the same cases the conformance driver
// runs against servers, with the roles swapped. The server sends what the case sends, unmasked, and the testee
// client must answer as the case expects a server to (echo, pong, close,
// or fail the connection with the right code), mask every frame, and
// close the TCP connection once the server has closed its side after a
// closing handshake. In sections 12 and 13 the server accepts the testee's
// permessage-deflate offer the way Autobahn's fuzzingserver does (13.3,
// for one, narrows the client's window to 8 bits), compresses what it
// sends and checks that what the testee sends keeps to the agreement; in
// the other sections it declines compression.
type Server struct {
	cases   []conformance.Case
	ln      net.Listener
	wg      sync.WaitGroup // every connection
	mu      sync.Mutex
	idle    *sync.Cond // signalled when running drops to 0
	running int        // cases in progress
	conns   map[net.Conn]struct{}
	results map[string]map[int]CaseResult // by agent, then by case index
}

// CaseResult is the outcome of one case for one agent.
type CaseResult struct {
	Case conformance.Case
	// Err is nil if the testee behaved as the case expects, ErrNotRun if
	// it never ran the case, and otherwise says what the testee did.
	Err error
	// Duration is how long the case took.
	Duration time.Duration
}

// ErrNotRun is the outcome of a case the testee did not run.
var ErrNotRun = errors.New("fuzzserver: case not run")

// New serves cases on ln until Close; the case numbers of the protocol
// (1, 2, …) index cases. conformance.Cases() together with
// conformance.PerformanceCases are those of Autobahn's sections 1 to 7,
// 9, 10, 12 and 13.
func New(ln net.Listener, cases []conformance.Case) *Server {
	s := &Server{
		cases:   cases,
		ln:      ln,
		conns:   map[net.Conn]struct{}{},
		results: map[string]map[int]CaseResult{},
	}
	s.idle = sync.NewCond(&s.mu)
	s.wg.Go(s.accept)
	return s
}

// URL returns the server's base URL, ws://host:port.
func (s *Server) URL() string { return "ws://" + s.ln.Addr().String() }

// closeGrace is how long Close lets cases in progress finish before it
// drops their connections.
const closeGrace = 5 * time.Second

// Close stops the server. Cases in progress get up to 5 s to finish (a
// testee's last case may still be closing when the testee is done); then
// their connections are dropped. Close returns when every case has ended.
func (s *Server) Close() error {
	err := s.ln.Close()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-time.After(closeGrace):
	}
	s.mu.Lock()
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	<-done
	return err
}

// Results returns the outcome of every case for agent, in case order.
func (s *Server) Results(agent string) []CaseResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CaseResult, len(s.cases))
	for i, c := range s.cases {
		r, ok := s.results[agent][i]
		if !ok {
			r = CaseResult{Case: c, Err: ErrNotRun}
		}
		out[i] = r
	}
	return out
}

func (s *Server) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[nc] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			s.serve(nc)
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
			nc.Close()
		})
	}
}

// handshakeTimeout bounds reading a testee's opening handshake.
const handshakeTimeout = 5 * time.Second

// serve reads the opening handshake and runs the endpoint it asks for.
func (s *Server) serve(nc net.Conn) {
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	q := req.URL.Query()
	agent := q.Get("agent")
	if agent == "" {
		agent = req.UserAgent()
	}
	index := -1
	if n, err := strconv.Atoi(q.Get("case")); err == nil && n >= 1 && n <= len(s.cases) {
		index = n - 1
	}
	switch req.URL.Path {
	case "/getCaseCount":
		s.talk(nc, br, req, strconv.Itoa(len(s.cases)))
	case "/updateReports":
		// Autobahn writes its reports here; waiting for the cases still
		// running makes Results complete once the testee has come this far.
		s.waitIdle()
		s.talk(nc, br, req, "")
	case "/getCaseInfo", "/getCaseStatus", "/runCase":
		if index < 0 {
			refuse(nc, http.StatusNotFound, fmt.Sprintf("no case %q: cases are numbered 1 to %d", q.Get("case"), len(s.cases)))
			return
		}
		c := s.cases[index]
		switch req.URL.Path {
		case "/getCaseInfo":
			b, _ := json.Marshal(map[string]string{"id": c.ID, "description": c.Desc})
			s.talk(nc, br, req, string(b))
		case "/getCaseStatus":
			s.waitIdle()
			behavior := "OK"
			if r := s.Results(agent)[index]; errors.Is(r.Err, ErrNotRun) {
				behavior = "UNKNOWN"
			} else if r.Err != nil {
				behavior = "FAILED"
			}
			b, _ := json.Marshal(map[string]string{"behavior": behavior})
			s.talk(nc, br, req, string(b))
		default:
			start := time.Now()
			s.mu.Lock()
			s.running++
			s.mu.Unlock()
			err := s.runCase(nc, br, req, c)
			s.mu.Lock()
			if s.results[agent] == nil {
				s.results[agent] = map[int]CaseResult{}
			}
			s.results[agent][index] = CaseResult{Case: c, Err: err, Duration: time.Since(start)}
			if s.running--; s.running == 0 {
				s.idle.Broadcast()
			}
			s.mu.Unlock()
		}
	default:
		refuse(nc, http.StatusNotFound, "no such endpoint: use /getCaseCount, /runCase, /updateReports, /getCaseInfo or /getCaseStatus")
	}
}

// waitIdle waits until no case is in progress: a testee that has seen a
// case's connection end may ask for its outcome before the server's end of
// the case has finished.
func (s *Server) waitIdle() {
	s.mu.Lock()
	for s.running > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// runCase completes the handshake and runs c on the connection.
func (s *Server) runCase(nc net.Conn, br *bufio.Reader, req *http.Request, c conformance.Case) error {
	return c.CheckClient(nc, br, req.Header, func(extensions string) error {
		return acceptClient(nc, req, extensions)
	})
}

// talk completes the handshake, sends msg (if any) as a text message and
// closes the connection with 1000, for the endpoints that only inform.
func (s *Server) talk(nc net.Conn, br *bufio.Reader, req *http.Request, msg string) {
	s.runCase(nc, br, req, conformance.Tell(msg))
}
