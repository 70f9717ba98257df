package conformance

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// kosme is the Greek word κόσμε, Autobahn's sample of multi-byte UTF-8.
const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

// fragments splits payload into a message of frames of at most size
// payload bytes each.
func fragments(op rawclient.Opcode, payload string, size int) []rawclient.Frame {
	var fs []rawclient.Frame
	for off := 0; off == 0 || off < len(payload); off += size {
		end := min(off+size, len(payload))
		fs = append(fs, frame(op, end == len(payload), payload[off:end]))
		op = rawclient.OpContinuation
	}
	return fs
}

// utf8Cases are Autobahn's section 6: text messages must be valid UTF-8
// however they are fragmented (6.1–6.3), a server must fail the connection
// with 1007 as soon as a fragment makes the message invalid, not at its
// end (6.4), and 6.5–6.23 probe the validator with the sequences of
// Markus Kuhn's UTF-8 decoder stress test.
func utf8Cases() []Case {
	const greeting1, greeting2 = "Hello-µ@ßöä", "üàá-UTF-8!!"
	const greeting = greeting1 + greeting2
	const invalid = kosme + "\xed\xa0\x80" + "edited" // a lone surrogate from byte 12 on
	echo := func(fs ...rawclient.Frame) func(*session) error {
		return func(s *session) error {
			s.send(fs...)
			var payload []byte
			for _, f := range fs {
				payload = append(payload, f.Payload...)
			}
			return s.expectEcho(msg(rawclient.OpText, string(payload)))
		}
	}
	const echoed = "The message is echo'ed back to us."
	cs := []Case{
		{ID: "6.1.1", Desc: "Send text message of length 0.", Expect: "A message is echo'ed back to us (with empty payload).",
			run: echo(frame(rawclient.OpText, true, ""))},
		{ID: "6.1.2", Desc: "Send fragmented text message, 3 fragments each of length 0.", Expect: "A message is echo'ed back to us (with empty payload).",
			run: echo(frame(rawclient.OpText, false, ""), frame(rawclient.OpContinuation, false, ""), frame(rawclient.OpContinuation, true, ""))},
		{ID: "6.1.3", Desc: "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.", Expect: "A message is echo'ed back to us (with payload = payload of middle fragment).",
			run: echo(frame(rawclient.OpText, false, ""), frame(rawclient.OpContinuation, false, "middle frame payload"), frame(rawclient.OpContinuation, true, ""))},
		{ID: "6.2.1", Desc: fmt.Sprintf("Send a valid UTF-8 text message in one fragment. MESSAGE: 0x%x", greeting), Expect: echoed,
			run: echo(frame(rawclient.OpText, true, greeting))},
		{ID: "6.2.2", Desc: fmt.Sprintf("Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary. MESSAGE: 0x%x", greeting), Expect: echoed,
			run: echo(frame(rawclient.OpText, false, greeting1), frame(rawclient.OpContinuation, true, greeting2))},
		{ID: "6.2.3", Desc: fmt.Sprintf("Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends. MESSAGE: 0x%x", greeting), Expect: echoed,
			run: echo(fragments(rawclient.OpText, greeting, 1)...)},
		{ID: "6.2.4", Desc: fmt.Sprintf("Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends. MESSAGE: 0x%x", kosme), Expect: echoed,
			run: echo(fragments(rawclient.OpText, kosme, 1)...)},
		{ID: "6.3.1", Desc: fmt.Sprintf("Send invalid UTF-8 text message unfragmented. MESSAGE: 0x%x", invalid), Expect: "The connection is failed immediately, since the payload is not valid UTF-8.",
			run: func(s *session) error {
				s.send(frame(rawclient.OpText, true, invalid))
				return s.expectFail(closeInvalidPayload)
			}},
		{ID: "6.3.2", Desc: fmt.Sprintf("Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends. MESSAGE: 0x%x", invalid), Expect: "The connection is failed immediately, since the payload is not valid UTF-8.",
			run: func(s *session) error {
				s.send(fragments(rawclient.OpText, invalid, 1)...)
				return s.expectFail(closeInvalidPayload)
			}},
	}

	// 0xf4 0x90 0x80 0x80 would be U+110000, beyond Unicode: the message
	// is invalid from byte 12 (0x90) on.
	whole := kosme + "\xf4\x90\x80\x80" + "edited"
	byCodePoint := [3]string{kosme, "\xf4\x90\x80\x80", "edited"}
	byOctet := [3]string{whole[:12], whole[12:13], whole[13:]}
	cs = append(cs,
		failFastCase("6.4.1", "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest.", byCodePoint, false),
		failFastCase("6.4.2", "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid.", byOctet, false),
		failFastCase("6.4.3", "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame.", byCodePoint, true),
		failFastCase("6.4.4", "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame.", byOctet, true),
	)

	for i, g := range utf8Table() {
		for j, seq := range g.seqs {
			c := Case{ID: fmt.Sprintf("6.%d.%d", 5+i, j+1)}
			payload := seq.payload
			if seq.valid {
				c.Desc = fmt.Sprintf("%s: send a text message with payload which is valid UTF-8 in one fragment. Payload: 0x%x", g.title, payload)
				c.Expect = echoed
				c.run = echo(frame(rawclient.OpText, true, payload))
			} else {
				c.Desc = fmt.Sprintf("%s: send a text message with payload which is not valid UTF-8 in one fragment. Payload: 0x%x", g.title, payload)
				c.Expect = "The connection is failed immediately, since the payload is not valid UTF-8."
				c.run = func(s *session) error {
					s.send(frame(rawclient.OpText, true, payload))
					return s.expectFail(closeInvalidPayload)
				}
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// failFastCase sends a text message in three parts, the second making it
// invalid UTF-8, either as three frames or as three pieces of one frame
// (inOneFrame). The server must wait after the first part and fail the
// connection with 1007 at the second, without waiting for the third.
func failFastCase(id, desc string, parts [3]string, inOneFrame bool) Case {
	unit := "frame"
	if inOneFrame {
		unit = "chop"
	}
	return Case{
		ID:     id,
		Desc:   fmt.Sprintf("%s MESSAGE PARTS: PART1 = 0x%x, PART2 = 0x%x, PART3 = 0x%x", desc, parts[0], parts[1], parts[2]),
		Expect: fmt.Sprintf("The first %[1]s is accepted: the server waits for more. The 2nd %[1]s is rejected immediately (fail fast on UTF-8), with close code 1007.", unit),
		run: func(s *session) error {
			var pieces [3][]byte
			if inOneFrame {
				all := rawclient.AppendFrame(nil, frame(rawclient.OpText, true, parts[0]+parts[1]+parts[2]))
				end1 := len(all) - len(parts[1]) - len(parts[2])
				end2 := end1 + len(parts[1])
				pieces = [3][]byte{all[:end1], all[end1:end2], all[end2:]}
			} else {
				pieces = [3][]byte{
					rawclient.AppendFrame(nil, frame(rawclient.OpText, false, parts[0])),
					rawclient.AppendFrame(nil, frame(rawclient.OpContinuation, false, parts[1])),
					rawclient.AppendFrame(nil, frame(rawclient.OpContinuation, true, parts[2])),
				}
			}
			s.sendRaw(pieces[0], 0)
			if err := s.expectQuiet(quietPeriod); err != nil {
				return fmt.Errorf("after PART1, which is valid: %w", err)
			}
			s.sendRaw(pieces[1], 0)
			got, err := s.next(failFastTimeout)
			if !errors.Is(err, errNoFrame) {
				if err := s.closeIs(closeWant{codes: []int{closeInvalidPayload}}, got, err); err != nil {
					return fmt.Errorf("after PART2: %w", err)
				}
				return nil
			}
			// Not failed fast; whether it fails once the message is complete
			// tells NON-STRICT from FAILED.
			s.sendRaw(pieces[2], 0)
			if err := s.expectFail(closeInvalidPayload); err != nil {
				return fmt.Errorf("no close frame within %v of PART2, nor after PART3: %w", failFastTimeout, err)
			}
			return fmt.Errorf("%w: the server failed the connection only after PART3, not within %v of PART2, which made the message invalid", ErrNonStrict, failFastTimeout)
		},
	}
}

// utf8Group is a group of Autobahn's cases 6.5 to 6.23.
type utf8Group struct {
	title string
	seqs  []utf8Seq
}

type utf8Seq struct {
	valid   bool
	payload string
}

// utf8Table returns the groups of cases 6.5 to 6.23 in order: case 6.(5+i).(j+1)
// sends seqs[j] of group i.
func utf8Table() []utf8Group {
	valid := func(ps ...string) []utf8Seq { return seqs(true, ps...) }
	invalid := func(ps ...string) []utf8Seq { return seqs(false, ps...) }

	var prefixes []utf8Seq
	for i := 1; i <= len(kosme); i++ {
		prefixes = append(prefixes, utf8Seq{utf8.ValidString(kosme[:i]), kosme[:i]})
	}

	var continuations strings.Builder
	for b := 0x80; b < 0xbf; b++ {
		continuations.WriteByte(byte(b))
	}

	var lonely []string
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var sb strings.Builder
		for b := r[0]; b < r[1]; b++ {
			sb.WriteByte(byte(b))
			sb.WriteByte(' ')
		}
		lonely = append(lonely, sb.String())
	}

	truncated := []string{"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf"}

	// The noncharacters U+FFFE, U+FFFF and U+nFFFE, U+nFFFF of the
	// supplementary planes are valid UTF-8.
	nonchars := []string{"\xef\xbf\xbe", "\xef\xbf\xbf"}
	for _, lead := range []string{"\xf0", "\xf1", "\xf2", "\xf3", "\xf4"} {
		for _, second := range []string{"\x8f", "\x9f", "\xaf", "\xbf"} {
			if lead == "\xf4" && second != "\x8f" {
				continue // beyond U+10FFFF
			}
			if lead == "\xf0" && second == "\x8f" {
				continue // overlong forms of U+FFFE and U+FFFF
			}
			for _, last := range []string{"\xbe", "\xbf"} {
				nonchars = append(nonchars, lead+second+"\xbf"+last)
			}
		}
	}

	return []utf8Group{
		{"Some valid UTF-8 sequences", valid("hello\x24world", "hello\xc2\xa2world", "hello\xe2\x82\xacworld", "hello\xf0\xa4\xad\xa2world", kosme)},
		{"All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes},
		{"First possible sequence of a certain length", valid("\x00", "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80")},
		{"First possible sequence length 5/6 (invalid codepoints)", invalid("\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80")},
		{"Last possible sequence of a certain length", valid("\x7f", "\xdf\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf")},
		{"Last possible sequence length 4/5/6 (invalid codepoints)", invalid("\xf7\xbf\xbf\xbf", "\xfb\xbf\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf\xbf")},
		{"Other boundary conditions", append(valid("\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"), invalid("\xf4\x90\x80\x80")...)},
		{"Unexpected continuation bytes", invalid("\x80", "\xbf", "\x80\xbf", "\x80\xbf\x80", "\x80\xbf\x80\xbf", "\x80\xbf\x80\xbf\x80", "\x80\xbf\x80\xbf\x80\xbf", continuations.String())},
		{"Lonely start characters", invalid(lonely...)},
		{"Sequences with last continuation byte missing", invalid(truncated...)},
		{"Concatenation of incomplete sequences", invalid(strings.Join(truncated, ""))},
		{"Impossible bytes", invalid("\xfe", "\xff", "\xfe\xfe\xff\xff")},
		{"Examples of an overlong ASCII character", invalid("\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf8\x80\x80\x80\xaf", "\xfc\x80\x80\x80\x80\xaf")},
		{"Maximum overlong sequences", invalid("\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xf8\x87\xbf\xbf\xbf", "\xfc\x83\xbf\xbf\xbf\xbf")},
		{"Overlong representation of the NUL character", invalid("\xc0\x80", "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf8\x80\x80\x80\x80", "\xfc\x80\x80\x80\x80\x80")},
		{"Single UTF-16 surrogates", invalid("\xed\xa0\x80", "\xed\xad\xbf", "\xed\xae\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbe\x80", "\xed\xbf\xbf")},
		{"Paired UTF-16 surrogates", invalid("\xed\xa0\x80\xed\xb0\x80", "\xed\xa0\x80\xed\xbf\xbf", "\xed\xad\xbf\xed\xb0\x80", "\xed\xad\xbf\xed\xbf\xbf",
			"\xed\xae\x80\xed\xb0\x80", "\xed\xae\x80\xed\xbf\xbf", "\xed\xaf\xbf\xed\xb0\x80", "\xed\xaf\xbf\xed\xbf\xbf")},
		{"Non-character code points (valid UTF-8)", valid(nonchars...)},
		{"Unicode specials (i.e. replacement char)", valid("\xef\xbf\xb9", "\xef\xbf\xba", "\xef\xbf\xbb", "\xef\xbf\xbc", "\xef\xbf\xbd", "\xef\xbf\xbe", "\xef\xbf\xbf")},
	}
}

func seqs(valid bool, payloads ...string) []utf8Seq {
	out := make([]utf8Seq, len(payloads))
	for i, p := range payloads {
		out[i] = utf8Seq{valid, p}
	}
	return out
}
