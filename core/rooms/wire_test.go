package rooms

import (
	"bytes"
	"reflect"
	"testing"

	gws "github.com/gwsgo/gws/core"
)

func wireSamples() []wireMsg {
	return []wireMsg{
		{kind: kindHello, origin: 1, seq: 0, name: "node a"},
		{kind: kindBeat, origin: 2, seq: 1 << 40, name: ""},
		{kind: kindBye, origin: 3},
		{kind: kindSync, origin: 4, target: 1<<64 - 1},
		{kind: kindDelta, origin: 5, seq: 7, delta: deltaOnline, user: "alice", since: -3},
		{kind: kindDelta, origin: 5, seq: 8, delta: deltaOffline, user: "alice"},
		{kind: kindDelta, origin: 5, seq: 9, delta: deltaJoin, user: "bob", room: "r"},
		{kind: kindDelta, origin: 5, seq: 10, delta: deltaLeave, user: "bob", room: ""},
		{kind: kindSnapshot, origin: 6, seq: 11, part: 1, parts: 2, name: "n", users: []snapUser{
			{name: "alice", since: 1, rooms: []string{"r", "s"}}, {name: "bob", since: 2},
		}},
		{kind: kindSnapshot, origin: 6, seq: 0, part: 0, parts: 1},
	}
}

func TestWireRoundTrip(t *testing.T) {
	for _, m := range wireSamples() {
		got, err := decodeWire(m.encode(nil))
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%+v: decoded %+v, %v", m, got, err)
		}
	}
	for _, user := range []string{"", "bob"} {
		b := appendData(nil, 9, user, gws.OpcodeBinary, []byte{0, 1, 2})
		m, err := decodeWire(b)
		if err != nil || m.origin != 9 || m.user != user || m.op != gws.OpcodeBinary || !bytes.Equal(m.payload, []byte{0, 1, 2}) {
			t.Errorf("data message for %q: %+v, %v", user, m, err)
		}
	}
}

// FuzzDecodeWire checks that no input makes decodeWire panic, and that
// what it accepts encodes back to the same message.
func FuzzDecodeWire(f *testing.F) {
	for _, m := range wireSamples() {
		f.Add(m.encode(nil))
	}
	f.Add(appendData(nil, 1, "u", gws.OpcodeText, []byte("hi")))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeWire(b)
		if err != nil || m.kind == kindRoom || m.kind == kindDirect {
			return
		}
		again, err := decodeWire(m.encode(nil))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Errorf("%+v encodes to something that decodes to %+v, %v", m, again, err)
		}
	})
}
