package fuzzserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/conformance"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

func startFuzzingServer(t *testing.T, cases []conformance.Case) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(ln, cases)
	t.Cleanup(func() { s.Close() })
	return s
}

// runTestee runs case n (1-based) with the gws client and handler h.
func runTestee(t *testing.T, s *Server, n int, agent string, h gws.EventHandler, opts *gws.ClientOptions) {
	t.Helper()
	url := fmt.Sprintf("%s/runCase?case=%d&agent=%s", s.URL(), n, agent)
	c, _, err := gws.Dial(context.Background(), url, h, opts)
	if err != nil {
		t.Errorf("case %d: %v", n, err)
		return
	}
	<-c.Context.Done()
}

// recvFirst is a client's handler that keeps the first message.
type recvFirst struct {
	wstest.Echo
	mu  sync.Mutex
	got []string
}

func (h *recvFirst) OnMessage(c *gws.Conn, m *gws.Message) {
	h.mu.Lock()
	h.got = append(h.got, string(m.Bytes()))
	h.mu.Unlock()
	m.Close()
}

func (h *recvFirst) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got
}

// talkTo opens path and returns what the server sent, checking that it
// closed the connection normally.
func talkTo(t *testing.T, s *Server, path string) []string {
	t.Helper()
	h := &recvFirst{}
	c, _, err := gws.Dial(context.Background(), s.URL()+path, h, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	<-c.Context.Done()
	return h.messages()
}

func TestFuzzingServerProtocol(t *testing.T) {
	cases := conformance.Cases(1)
	s := startFuzzingServer(t, cases)
	if got := talkTo(t, s, "/getCaseCount"); len(got) != 1 || got[0] != fmt.Sprint(len(cases)) {
		t.Fatalf("getCaseCount: %q, want %d", got, len(cases))
	}
	if got := talkTo(t, s, "/getCaseInfo?case=2"); len(got) != 1 || !strings.Contains(got[0], `"id":"1.1.2"`) {
		t.Fatalf("getCaseInfo: %q", got)
	}
	if got := talkTo(t, s, "/getCaseStatus?case=2&agent=a"); len(got) != 1 || got[0] != `{"behavior":"UNKNOWN"}` {
		t.Fatalf("getCaseStatus before the case: %q", got)
	}
	runTestee(t, s, 2, "a", wstest.Echo{}, nil)
	if got := talkTo(t, s, "/getCaseStatus?case=2&agent=a"); len(got) != 1 || got[0] != `{"behavior":"OK"}` {
		t.Fatalf("getCaseStatus after the case: %q", got)
	}
	if got := talkTo(t, s, "/updateReports?agent=a"); len(got) != 0 {
		t.Fatalf("updateReports: %q", got)
	}
	rs := s.Results("a")
	if rs[1].Err != nil || !errors.Is(rs[0].Err, ErrNotRun) {
		t.Fatalf("results %v, %v", rs[0].Err, rs[1].Err)
	}
	for _, path := range []string{"/runCase?case=0", "/runCase?case=99", "/nothing"} {
		_, resp, err := gws.Dial(context.Background(), s.URL()+path, wstest.Echo{}, nil)
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: response %v, err %v; want 404", path, resp, err)
		}
	}
}

// silent is a testee that echoes nothing.
type silent struct{ wstest.Echo }

func (silent) OnMessage(_ *gws.Conn, m *gws.Message) { m.Close() }

// TestFuzzingServerFailsBadClients checks that the cases catch clients
// that get things wrong.
func TestFuzzingServerFailsBadClients(t *testing.T) {
	cases := conformance.Cases(1, 6)
	s := startFuzzingServer(t, cases)
	index := func(id string) int {
		for i, c := range cases {
			if c.ID == id {
				return i
			}
		}
		t.Fatalf("no case %s", id)
		return 0
	}
	runTestee(t, s, index("1.1.2")+1, "silent", silent{}, nil)
	runTestee(t, s, index("6.3.1")+1, "lax", wstest.Echo{}, &gws.ClientOptions{SkipUTF8Validation: true})
	unmaskedTestee(t, s, index("1.1.2")+1, "unmasked")
	for _, tc := range []struct{ agent, id, want string }{
		{"silent", "1.1.2", "no frame"},
		{"lax", "6.3.1", "not valid UTF-8"},
		{"unmasked", "1.1.2", "unmasked"},
	} {
		if err := s.Results(tc.agent)[index(tc.id)].Err; err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s on %s: %v, want a failure saying %q", tc.agent, tc.id, err, tc.want)
		}
	}
}

// unmaskedTestee runs case n as a client that sends its echo unmasked.
func unmaskedTestee(t *testing.T, s *Server, n int, agent string) {
	addr := strings.TrimPrefix(s.URL(), "ws://")
	c, _, err := rawclient.Dial(addr, fmt.Sprintf("/runCase?case=%d&agent=%s", n, agent), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.ReadFrame(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0x80 | byte(f.Opcode), byte(len(f.Payload))}
	c.WriteRaw(append(b, f.Payload...))
	for err == nil { // until the server closes the connection
		_, err = c.ReadFrame(0)
	}
}
