package conformance

import (
	"fmt"
	"strings"
	"time"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// bigMessageTimeout bounds the wait for the echo of one of section 9's
// messages (Autobahn allows 10 to 1000 s depending on the case).
const bigMessageTimeout = 60 * time.Second

// PerformanceCases are Autobahn's section 9 (limits and performance):
// large text and binary messages (9.1, 9.2), large messages in fragments
// of every size (9.3, 9.4), large messages written in small chops (9.5,
// 9.6), and many small messages sent one after the other, each waiting
// for its echo (9.7, 9.8). They run against a server with Run or against
// a client with CheckClient (package fuzzserver serves them so).
//
// With scale 1 they are Autobahn's: messages of up to 16 MiB and 1000
// round trips. A larger scale divides every message size and count by it
// (fragment and chop sizes stay), for a quick run in tests: scale 16 moves
// some 40 MiB instead of some 650 MiB.
func PerformanceCases(scale int) []Case {
	scale = max(scale, 1)
	var cs []Case
	// Autobahn fills its large messages with a phrase or with 0xfe, and its
	// fragmented and many small ones with '*' or 0xfe.
	kinds := []struct {
		op          rawclient.Opcode
		fill, fill2 string
	}{{rawclient.OpText, "BAsd7&jh23", "*"}, {rawclient.OpBinary, "\xfe", "\xfe"}}
	for k, kind := range kinds {
		for i, size := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20} {
			n := size / scale
			cs = append(cs, Case{
				ID:     fmt.Sprintf("9.%d.%d", 1+k, i+1),
				Desc:   fmt.Sprintf("Send %s message with payload of length %s.", kind.op, sizeName(n)),
				Expect: fmt.Sprintf("Receive echo'ed %s message (with payload as sent).", kind.op),
				run:    bigEcho([]rawclient.Frame{frame(kind.op, true, fill(kind.fill, n))}, 0),
			})
		}
	}
	for k, kind := range kinds {
		n := (4 << 20) / scale
		payload := fill(kind.fill2, n)
		for i, frag := range []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20} {
			cs = append(cs, Case{
				ID:     fmt.Sprintf("9.%d.%d", 3+k, i+1),
				Desc:   fmt.Sprintf("Send fragmented %s message with message payload of length %s. Sent out in fragments of %s.", kind.op, sizeName(n), sizeName(frag)),
				Expect: fmt.Sprintf("Receive echo'ed %s message (with payload as sent).", kind.op),
				run:    bigEcho(fragments(kind.op, payload, frag), 0),
			})
		}
	}
	for k, kind := range kinds {
		n := (1 << 20) / scale
		for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
			cs = append(cs, Case{
				ID:     fmt.Sprintf("9.%d.%d", 5+k, i+1),
				Desc:   fmt.Sprintf("Send %s message with payload of length %s. Sent out data in chops of %d octets.", kind.op, sizeName(n), chop),
				Expect: fmt.Sprintf("Receive echo'ed %s message (with payload as sent).", kind.op),
				run:    bigEcho([]rawclient.Frame{frame(kind.op, true, fill(kind.fill, n))}, chop),
			})
		}
	}
	for k, kind := range kinds {
		count := max(1000/scale, 1)
		for i, size := range []int{0, 16, 64, 256, 1024, 4096} {
			cs = append(cs, Case{
				ID:     fmt.Sprintf("9.%d.%d", 7+k, i+1),
				Desc:   fmt.Sprintf("Send %d %s messages of payload size %d to measure implementation/network RTT (round trip time) / latency.", count, kind.op, size),
				Expect: fmt.Sprintf("Receive echo'ed %s messages (with payload as sent).", kind.op),
				run:    roundTrips(kind.op, fill(kind.fill2, size), count),
			})
		}
	}
	return cs
}

// fill repeats pattern to n bytes.
func fill(pattern string, n int) string {
	return strings.Repeat(pattern, n/len(pattern)+1)[:n]
}

// sizeName writes n as Autobahn's descriptions do (64k, 4M) when it is a
// round power of two.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dk", n>>10)
	}
	return fmt.Sprint(n)
}

// bigEcho sends the message fs (in pieces of chop bytes unless chop is 0,
// with no pause between them) and expects its echo, waiting long enough
// for a large one, then closes normally.
func bigEcho(fs []rawclient.Frame, chop int) func(*session) error {
	return func(s *session) error {
		var b []byte
		var payload []byte
		for _, f := range fs {
			b = rawclient.AppendFrame(b, f)
			payload = append(payload, f.Payload...)
		}
		if s.writeErr == nil {
			s.noteWrite(s.c.WriteChopped(b, chop, 0))
		}
		want := event{kind: evMessage, op: fs[0].Opcode, payload: payload}
		got, err := s.next(bigMessageTimeout)
		if err != nil {
			return fmt.Errorf("want %v: %w", want, err)
		}
		if err := want.differ(got); err != nil {
			return err
		}
		return s.closeNormally()
	}
}

// roundTrips sends count messages one after the other, each after the
// echo of the one before, then closes normally.
func roundTrips(op rawclient.Opcode, payload string, count int) func(*session) error {
	return func(s *session) error {
		want := msg(op, payload)
		for i := range count {
			s.send(frame(op, true, payload))
			got, err := s.next(readTimeout)
			if err != nil {
				return fmt.Errorf("message %d: want %v: %w", i+1, want, err)
			}
			if err := want.differ(got); err != nil {
				return fmt.Errorf("message %d: %w", i+1, err)
			}
		}
		return s.closeNormally()
	}
}
