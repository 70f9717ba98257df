package wstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
)

func startFuzzingServer(t *testing.T, cases []Case) *FuzzingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewFuzzingServer(ln, cases)
	t.Cleanup(func() { s.Close() })
	return s
}

// testeeOptions are those of a client under Autobahn's test: messages of
// up to 16 MiB in section 9, permessage-deflate in sections 12 and 13.
var testeeOptions = &gws.ClientOptions{ReadMaxPayloadSize: 64 << 20, HandshakeTimeout: 5 * time.Second, CompressEnabled: true}

// runTestee runs case n (1-based) with the gws client and handler h.
func runTestee(t *testing.T, s *FuzzingServer, n int, agent string, h gws.EventHandler, opts *gws.ClientOptions) {
	t.Helper()
	url := fmt.Sprintf("%s/runCase?case=%d&agent=%s", s.URL(), n, agent)
	c, _, err := gws.Dial(context.Background(), url, h, opts)
	if err != nil {
		t.Errorf("case %d: %v", n, err)
		return
	}
	<-c.Context.Done()
}

// TestFuzzingServerGWSClient runs every case of sections 1 to 7, 9 (scaled
// down), 10, 12 and 13 against gws's client, four at a time.
func TestFuzzingServerGWSClient(t *testing.T) {
	cases := append(Cases(), PerformanceCases(64)...)
	s := startFuzzingServer(t, cases)
	sem := make(chan struct{}, parallelCases)
	var wg sync.WaitGroup
	for i := range cases {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			runTestee(t, s, i+1, "gws", Echo{}, testeeOptions)
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

// recvFirst is a client's handler that keeps the first message.
type recvFirst struct {
	Echo
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
func talkTo(t *testing.T, s *FuzzingServer, path string) []string {
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
	cases := Cases(1)
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
	runTestee(t, s, 2, "a", Echo{}, nil)
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
		_, resp, err := gws.Dial(context.Background(), s.URL()+path, Echo{}, nil)
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: response %v, err %v; want 404", path, resp, err)
		}
	}
}

// silent is a testee that echoes nothing.
type silent struct{ Echo }

func (silent) OnMessage(_ *gws.Conn, m *gws.Message) { m.Close() }

// TestFuzzingServerFailsBadClients checks that the cases catch clients
// that get things wrong.
func TestFuzzingServerFailsBadClients(t *testing.T) {
	cases := Cases(1, 6)
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
	runTestee(t, s, index("6.3.1")+1, "lax", Echo{}, &gws.ClientOptions{SkipUTF8Validation: true})
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
func unmaskedTestee(t *testing.T, s *FuzzingServer, n int, agent string) {
	addr := strings.TrimPrefix(s.URL(), "ws://")
	c, _, err := Dial(addr, fmt.Sprintf("/runCase?case=%d&agent=%s", n, agent), nil)
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
	io.Copy(io.Discard, c.br)
}

func TestUnmasker(t *testing.T) {
	var wire []byte
	frames := []Frame{frame(OpText, false, "hello, "), frame(OpContinuation, true, strings.Repeat("w", 300)),
		frame(OpBinary, true, strings.Repeat("\x00", 70000)), closeFrame(closeNormal, "bye")}
	var want []byte
	for _, f := range frames {
		wire = AppendFrame(wire, f)
		want = appendServerFrame(want, f)
	}
	for _, chop := range []int{1, 2, 3, 7, 100, len(wire)} {
		u := unmasker{requireMask: true}
		var got []byte
		for off := 0; off < len(wire); off += chop {
			piece := append([]byte(nil), wire[off:min(off+chop, len(wire))]...)
			n, err := u.transform(piece, piece)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, piece[:n]...)
		}
		if string(got) != string(want) || !u.closeSeen() {
			t.Fatalf("chop %d: output differs from the unmasked frames (close seen %v)", chop, u.closeSeen())
		}
	}
	u := unmasker{requireMask: true}
	if _, err := u.transform(make([]byte, 2), []byte{0x81, 0x00}); !errors.Is(err, errUnmaskedClientFrame) {
		t.Fatalf("unmasked frame: err %v", err)
	}
}

// appendServerFrame appends f as a server sends it: unmasked.
func appendServerFrame(dst []byte, f Frame) []byte {
	masked := AppendFrame(nil, f)
	h := masked[:2]
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n = 4
	case 127:
		n = 10
	}
	dst = append(dst, masked[0], masked[1]&0x7f)
	dst = append(dst, masked[2:n]...)
	return append(dst, f.Payload...)
}

// TestFuzzingServerAccept checks the server's answers to offers, case by
// case, and the agreement the cases then keep to from the server's end.
func TestFuzzingServerAccept(t *testing.T) {
	const browser = "permessage-deflate; client_max_window_bits"
	for _, tc := range []struct {
		id, offer, answer string
		want              agreement // answer field ignored
	}{
		{"1.1.1", browser, "", agreement{}},
		{"12.1.1", browser, "permessage-deflate", agreement{clientBits: 15, serverBits: 15}},
		{"13.2.1", browser, "permessage-deflate; client_no_context_takeover", agreement{clientBits: 15, serverBits: 15, serverNoContext: true}},
		{"13.3.1", browser, "permessage-deflate; client_max_window_bits=8", agreement{clientBits: 15, serverBits: 8}},
		{"13.3.1", "permessage-deflate", "", agreement{}},
		{"13.5.1", browser + "; client_no_context_takeover; server_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=8",
			agreement{clientNoContext: true, clientBits: 15, serverNoContext: true, serverBits: 8}},
		{"13.7.1", "permessage-deflate", "permessage-deflate; client_no_context_takeover", agreement{clientBits: 15, serverBits: 15, serverNoContext: true}},
		{"13.9.1", "permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=9", agreement{clientBits: 9, serverBits: 15}},
		{"13.10.1", "permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=9", agreement{clientBits: 15, serverBits: 9}},
		{"13.1.1", "permessage-deflate; client_max_window_bits=10", "permessage-deflate", agreement{clientBits: 15, serverBits: 10}},
		{"13.1.1", "permessage-deflate; bogus, permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10", agreement{clientBits: 10, serverBits: 15}},
		{"13.11.1", browser, "", agreement{}},
		{"12.1.1", "x-webkit-deflate-frame", "", agreement{}},
	} {
		answer, a := acceptDeflate(http.Header{"Sec-Websocket-Extensions": {tc.offer}}, acceptPolicy(tc.id))
		if answer != tc.answer {
			t.Errorf("%s, offer %q: answer %q, want %q", tc.id, tc.offer, answer, tc.answer)
			continue
		}
		if a == nil {
			if tc.answer != "" {
				t.Errorf("%s: no agreement", tc.id)
			}
			continue
		}
		a.answer = ""
		if *a != tc.want {
			t.Errorf("%s, offer %q: agreement %+v, want %+v", tc.id, tc.offer, *a, tc.want)
		}
	}
}
