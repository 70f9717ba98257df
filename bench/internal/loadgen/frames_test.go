package loadgen

import (
	"bytes"
	"testing"
)

// serverFrames builds what a server might send back for one message: one
// frame, or the payload split into fragments.
func serverFrames(op byte, payload []byte, fragments int) []byte {
	if fragments <= 1 {
		return serverFrame(op, payload)
	}
	var out []byte
	step := (len(payload) + fragments - 1) / fragments
	for i := 0; i < len(payload); i += step {
		part := payload[i:min(i+step, len(payload))]
		f := serverFrame(op, part)
		if i > 0 {
			f[0] &^= 0x0f // continuation
		}
		if i+step < len(payload) {
			f[0] &^= 0x80 // not final
		}
		out = append(out, f...)
	}
	return out
}

// The counter must give the same count however reads split the stream,
// including inside headers and with fragmented replies.
func TestReplyCounterSplits(t *testing.T) {
	for _, size := range []int{0, 16, 125, 126, 1 << 10, 70000} {
		for _, frags := range []int{1, 3} {
			if size == 0 && frags > 1 {
				continue
			}
			one := serverFrames(opBinary, makePayload(size, false), frags)
			stream := bytes.Repeat(one, 5)
			for _, chunk := range []int{1, 2, 3, 7, 4096, len(stream)} {
				rc := replyCounter{wantOp: opBinary}
				total := 0
				for i := 0; i < len(stream); i += chunk {
					n, err := rc.feed(stream[i:min(i+chunk, len(stream))])
					if err != nil {
						t.Fatalf("size %d, %d fragments, chunk %d: %v", size, frags, chunk, err)
					}
					total += n
				}
				if total != 5 {
					t.Errorf("size %d, %d fragments, chunk %d: counted %d messages, want 5", size, frags, chunk, total)
				}
			}
		}
	}
}

func TestReplyCounterRejects(t *testing.T) {
	cases := map[string][]byte{
		"wrong opcode": serverFrame(opText, []byte("x")),
		"close":        serverFrame(opClose, []byte{3, 232}),
		"masked":       encodeClientFrame(opBinary, []byte("x"), [4]byte{1, 2, 3, 4}),
		"orphan continuation": func() []byte {
			f := serverFrame(opBinary, []byte("x"))
			f[0] &^= 0x0f
			return f
		}(),
	}
	for name, b := range cases {
		rc := replyCounter{wantOp: opBinary}
		if _, err := rc.feed(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFramePayloads(t *testing.T) {
	p := makePayload(1000, true)
	if got := framePayloads(serverFrames(opText, p, 4)); !bytes.Equal(got, p) {
		t.Fatal("payloads of a fragmented reply do not add up to the message")
	}
}

// serverFrame is the unmasked single frame an echo server sends back.
func serverFrame(op byte, payload []byte) []byte {
	f := encodeClientFrame(op, payload, [4]byte{})
	hl := serverHeaderLen(f)
	out := append([]byte(nil), f[:hl-4]...) // without the all-zero key
	out[1] &^= 0x80
	return append(out, payload...)
}
