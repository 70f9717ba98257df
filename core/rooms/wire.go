package rooms

import (
	"encoding/binary"
	"errors"

	gws "github.com/gwsgo/gws/core"
)

// What hubs say to each other through the broker. Every message starts
// with a version byte, a kind and the 8-byte ID of the node that sent it;
// strings and counts are uvarint-prefixed. Room and direct messages carry
// the WebSocket opcode and the payload as they are, so a node relays a
// message with one copy into its frame.
const wireVersion = 1

const (
	kindRoom     byte = 1 + iota // a message for a room's members (the subject names the room)
	kindDirect                   // a message for one user on the receiving node
	kindHello                    // a node joined: every peer sends its snapshot
	kindBeat                     // a node is alive; seq is its latest presence change
	kindBye                      // a node leaves: forget it at once
	kindSync                     // asks node target for a snapshot
	kindDelta                    // one presence change
	kindSnapshot                 // one part of a node's whole presence
)

// Presence changes (wireMsg.op of a kindDelta).
const (
	deltaOnline  byte = 1 + iota // user connected at since; it is in no room yet
	deltaOffline                 // user left the node
	deltaJoin                    // user joined room
	deltaLeave                   // user left room
)

const wireHeader = 2 + 8

var errWire = errors.New("rooms: malformed hub message")

// wireMsg is any hub message, decoded; which fields mean something depends
// on kind.
type wireMsg struct {
	kind   byte
	origin uint64

	op      gws.Opcode // kindRoom, kindDirect
	user    string     // kindDirect, kindDelta
	payload []byte     // kindRoom, kindDirect: aliases the decoded buffer

	seq         uint64 // kindHello, kindBeat, kindDelta, kindSnapshot
	name        string // kindHello, kindBeat, kindSnapshot: the node's name
	target      uint64 // kindSync
	delta       byte   // kindDelta
	since       int64  // kindDelta (deltaOnline)
	room        string // kindDelta (deltaJoin, deltaLeave)
	part, parts uint64 // kindSnapshot
	users       []snapUser
}

// snapUser is one user of a snapshot.
type snapUser struct {
	name  string
	since int64
	rooms []string
}

func appendHeader(b []byte, kind byte, origin uint64) []byte {
	return binary.BigEndian.AppendUint64(append(b, wireVersion, kind), origin)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendData encodes a room message (user == "") or a direct message.
func appendData(b []byte, origin uint64, user string, op gws.Opcode, payload []byte) []byte {
	if user == "" {
		b = appendHeader(b, kindRoom, origin)
	} else {
		b = appendString(appendHeader(b, kindDirect, origin), user)
	}
	return append(append(b, byte(op)), payload...)
}

// encode appends m (a presence message) to b.
func (m *wireMsg) encode(b []byte) []byte {
	b = appendHeader(b, m.kind, m.origin)
	switch m.kind {
	case kindHello, kindBeat:
		b = appendString(binary.AppendUvarint(b, m.seq), m.name)
	case kindSync:
		b = binary.BigEndian.AppendUint64(b, m.target)
	case kindDelta:
		b = appendString(append(binary.AppendUvarint(b, m.seq), m.delta), m.user)
		if m.delta == deltaOnline {
			b = binary.AppendVarint(b, m.since)
		} else if m.delta != deltaOffline {
			b = appendString(b, m.room)
		}
	case kindSnapshot:
		b = binary.AppendUvarint(b, m.seq)
		b = binary.AppendUvarint(b, m.part)
		b = binary.AppendUvarint(b, m.parts)
		b = appendString(b, m.name)
		for _, u := range m.users {
			b = binary.AppendVarint(appendString(b, u.name), u.since)
			b = binary.AppendUvarint(b, uint64(len(u.rooms)))
			for _, r := range u.rooms {
				b = appendString(b, r)
			}
		}
	}
	return b
}

// wireReader reads the fields of a message; the first malformed field
// sets err, and every read after it returns a zero value.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *wireReader) uint64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *wireReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *wireReader) fail() {
	if r.err == nil {
		r.err = errWire
	}
	r.b = nil
}

// decodeWire decodes any hub message. A data message's payload aliases b.
func decodeWire(b []byte) (wireMsg, error) {
	var m wireMsg
	if len(b) < wireHeader || b[0] != wireVersion {
		return m, errWire
	}
	m.kind = b[1]
	m.origin = binary.BigEndian.Uint64(b[2:])
	r := wireReader{b: b[wireHeader:]}
	switch m.kind {
	case kindRoom, kindDirect:
		if m.kind == kindDirect {
			m.user = r.string()
		}
		m.op = gws.Opcode(r.byte())
		m.payload = r.b
		r.b = nil
	case kindHello, kindBeat:
		m.seq = r.uvarint()
		m.name = r.string()
	case kindBye:
	case kindSync:
		m.target = r.uint64()
	case kindDelta:
		m.seq = r.uvarint()
		m.delta = r.byte()
		m.user = r.string()
		switch m.delta {
		case deltaOnline:
			m.since = r.varint()
		case deltaOffline:
		case deltaJoin, deltaLeave:
			m.room = r.string()
		default:
			r.fail()
		}
	case kindSnapshot:
		m.seq = r.uvarint()
		m.part = r.uvarint()
		m.parts = r.uvarint()
		m.name = r.string()
		if m.part >= m.parts {
			r.fail()
		}
		for len(r.b) > 0 {
			u := snapUser{name: r.string(), since: r.varint()}
			n := r.uvarint()
			if n > uint64(len(r.b)) { // each room takes a byte at least
				r.fail()
				n = 0
			}
			for range n {
				u.rooms = append(u.rooms, r.string())
			}
			m.users = append(m.users, u)
		}
	default:
		return m, errWire
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail()
	}
	return m, r.err
}
