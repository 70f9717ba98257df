package conformance

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

func TestUnmasker(t *testing.T) {
	var wire []byte
	frames := []rawclient.Frame{frame(rawclient.OpText, false, "hello, "), frame(rawclient.OpContinuation, true, strings.Repeat("w", 300)),
		frame(rawclient.OpBinary, true, strings.Repeat("\x00", 70000)), closeFrame(closeNormal, "bye")}
	var want []byte
	for _, f := range frames {
		wire = rawclient.AppendFrame(wire, f)
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
func appendServerFrame(dst []byte, f rawclient.Frame) []byte {
	masked := rawclient.AppendFrame(nil, f)
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

// TestAcceptDeflate checks the fuzzing server's answers to offers, case by
// case, and the agreement the cases then keep to from the server's end.
func TestAcceptDeflate(t *testing.T) {
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
