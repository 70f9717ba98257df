package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gwsgo/gws/core/rooms"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// wait bounds every read a test makes, so a server that stays silent fails
// the test instead of hanging it.
const wait = 5 * time.Second

// startChat runs a chat node alone on a loopback port until the test
// ends. The returned stop cancels run's context and returns what run
// returned; it may be called more than once.
func startChat(t *testing.T) (addr string, stop func() error) {
	t.Helper()
	return startChatOn(t, "")
}

// startChatOn runs a chat node on the broker at brokerURL ("" for none),
// as main does.
func startChatOn(t *testing.T, brokerURL string) (addr string, stop func() error) {
	t.Helper()
	broker, closer, err := dialBroker(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hub, err := rooms.New(&rooms.Options{Broker: broker, Node: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := run(ctx, ln, &Chat{hub: hub}, nil)
		hub.Close()
		closer.Close()
		done <- err
	}()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			// run gives clients 5 s to answer the close; a little more
			// tells a slow shutdown from one that never ends.
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				runErr = errors.New("run did not return within 10 s of the context's cancellation")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return ln.Addr().String(), stop
}

// user is one chat client on a raw connection, so the tests see exactly
// the frames the server sends.
type user struct {
	t    *testing.T
	name string
	c    *rawclient.Conn
}

func join(t *testing.T, addr, name string) *user {
	t.Helper()
	c, _, err := rawclient.Dial(addr, "/ws?name="+url.QueryEscape(name), nil)
	if err != nil {
		t.Fatalf("%s joining: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return &user{t: t, name: name, c: c}
}

func (u *user) send(to, message string) {
	u.t.Helper()
	b, _ := json.Marshal(envelope{To: to, Message: message})
	u.sendRaw(b)
}

func (u *user) sendRaw(b []byte) {
	u.t.Helper()
	if err := u.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: b}); err != nil {
		u.t.Fatalf("%s sending: %v", u.name, err)
	}
}

// next returns the next chat message, failing the test on a close frame,
// a broken connection or silence.
func (u *user) next() envelope {
	u.t.Helper()
	for {
		f, err := u.c.ReadFrame(wait)
		if err != nil {
			u.t.Fatalf("%s waiting for a message: %v", u.name, err)
		}
		switch f.Opcode {
		case rawclient.OpPing, rawclient.OpPong:
			continue
		case rawclient.OpText:
			var e envelope
			if err := json.Unmarshal(f.Payload, &e); err != nil {
				u.t.Fatalf("%s got %q: %v", u.name, f.Payload, err)
			}
			return e
		case rawclient.OpClose:
			code, reason := closePayload(f.Payload)
			u.t.Fatalf("%s got close %d %q while waiting for a message", u.name, code, reason)
		default:
			u.t.Fatalf("%s got a %v frame", u.name, f.Opcode)
		}
	}
}

// expectRaw reads the next message and fails unless it is exactly want.
func (u *user) expectRaw(want string) {
	u.t.Helper()
	f, err := u.c.ReadFrame(wait)
	if err != nil || f.Opcode != rawclient.OpText || string(f.Payload) != want {
		u.t.Fatalf("%s got %v %q, %v; want %q", u.name, f.Opcode, f.Payload, err, want)
	}
}

// expect reads the next message and fails unless it is want. Used after a
// message that must not arrive, it shows that none came before want.
func (u *user) expect(want envelope) {
	u.t.Helper()
	if got := u.next(); got != want {
		u.t.Fatalf("%s got %+v, want %+v", u.name, got, want)
	}
}

// expectClose reads the next frame, which must be a close frame with code
// and reason; it answers it and waits for the server to drop TCP.
func (u *user) expectClose(code uint16, reason string) {
	u.t.Helper()
	f, err := u.c.ReadFrame(wait)
	if err != nil {
		u.t.Fatalf("%s waiting for close %d: %v", u.name, code, err)
	}
	if f.Opcode != rawclient.OpClose {
		u.t.Fatalf("%s got a %v frame %q, want close %d", u.name, f.Opcode, f.Payload, code)
	}
	if gotCode, gotReason := closePayload(f.Payload); gotCode != code || gotReason != reason {
		u.t.Fatalf("%s got close %d %q, want %d %q", u.name, gotCode, gotReason, code, reason)
	}
	u.closeHandshake(f.Payload[:2])
}

// leave closes the connection cleanly, as a browser tab does.
func (u *user) leave() {
	u.t.Helper()
	u.closeHandshake(binary.BigEndian.AppendUint16(nil, 1000))
	f, err := u.c.ReadFrame(wait)
	if err != nil || f.Opcode != rawclient.OpClose {
		u.t.Fatalf("%s leaving: got %v frame, %v; want the close answered", u.name, f.Opcode, err)
	}
}

func (u *user) closeHandshake(payload []byte) {
	u.t.Helper()
	if err := u.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: payload}); err != nil {
		u.t.Fatalf("%s answering the close: %v", u.name, err)
	}
}

func (u *user) waitClosed() {
	u.t.Helper()
	if err := u.c.WaitClosed(wait); err != nil {
		u.t.Fatalf("%s: %v", u.name, err)
	}
}

func closePayload(p []byte) (uint16, string) {
	if len(p) < 2 {
		return 1005, ""
	}
	return binary.BigEndian.Uint16(p), string(p[2:])
}

func notice(text string) envelope { return envelope{From: "server", Message: text} }

// joinAll connects the named users one after another and reads the join
// notices each of them gets, so that tests start with quiet connections.
func joinAll(t *testing.T, addr string, names ...string) []*user {
	t.Helper()
	var users []*user
	for _, name := range names {
		u := join(t, addr, name)
		users = append(users, u)
		for _, v := range users {
			v.expect(notice(name + " joined"))
		}
	}
	return users
}

func TestPage(t *testing.T) {
	addr, _ := startChat(t)
	client := &http.Client{Timeout: wait}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET /: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), `<form id="join"`) {
		t.Errorf("GET /: the page has no join form:\n%s", body)
	}
	resp, err = client.Get("http://" + addr + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /other: %s, want 404", resp.Status)
	}
	client.CloseIdleConnections()
}

func TestMissingNameRefused(t *testing.T) {
	addr, _ := startChat(t)
	alice := joinAll(t, addr, "alice")[0]
	for _, path := range []string{"/ws", "/ws?name=", "/ws?nom=bob"} {
		c, resp, err := rawclient.Dial(addr, path, nil)
		if err == nil {
			c.Close()
			t.Errorf("%s: upgraded, want 403", path)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %v, want 403", path, err)
		}
	}
	// Nobody joined, so the first thing alice hears is her own broadcast.
	alice.send("", "still alone")
	alice.expect(envelope{From: "alice", Message: "still alone"})
}

func TestCrossOriginRefused(t *testing.T) {
	addr, _ := startChat(t)
	alice := joinAll(t, addr, "alice")[0]
	c, resp, err := rawclient.Dial(addr, "/ws?name=mallory", http.Header{"Origin": {"http://evil.example"}})
	if err == nil {
		c.Close()
		t.Fatal("a page of another site joined the chat")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another site's page: %v, want 403", err)
	}
	// The chat's own page is welcome.
	bob, _, err := rawclient.Dial(addr, "/ws?name=bob", http.Header{"Origin": {"http://" + addr}})
	if err != nil {
		t.Fatalf("the chat's own page: %v", err)
	}
	bob.Close()
	alice.expect(notice("bob joined"))
}

func TestJoinAndLeave(t *testing.T) {
	addr, _ := startChat(t)
	alice := join(t, addr, "alice")
	alice.expect(notice("alice joined"))
	bob := join(t, addr, "bob")
	alice.expect(notice("bob joined"))
	bob.expect(notice("bob joined"))

	bob.leave()
	bob.waitClosed()
	alice.expect(notice("bob left"))

	// A connection that drops without a closing handshake leaves too.
	carol := join(t, addr, "carol")
	alice.expect(notice("carol joined"))
	carol.expect(notice("carol joined"))
	carol.c.Close()
	alice.expect(notice("carol left"))
}

func TestDirectMessage(t *testing.T) {
	addr, _ := startChat(t)
	u := joinAll(t, addr, "alice", "bob", "carol")
	alice, bob, carol := u[0], u[1], u[2]

	alice.send("bob", "hi bob")
	dm := envelope{From: "alice", To: "bob", Message: "hi bob"}
	bob.expect(dm)
	alice.expect(dm) // the sender sees what it sent

	bob.send("bob", "note to self")
	bob.expect(envelope{From: "bob", To: "bob", Message: "note to self"})

	// carol was not addressed: her next message is this broadcast, and
	// bob's note reached him once.
	carol.send("", "marker")
	marker := envelope{From: "carol", Message: "marker"}
	for _, u := range u {
		u.expect(marker)
	}
}

func TestBroadcast(t *testing.T) {
	addr, _ := startChat(t)
	users := joinAll(t, addr, "alice", "bob", "carol")
	users[1].send("", "hello, everyone")
	for _, u := range users {
		u.expect(envelope{From: "bob", Message: "hello, everyone"})
	}
}

func TestUnknownRecipientAndBadMessage(t *testing.T) {
	addr, _ := startChat(t)
	u := joinAll(t, addr, "alice", "bob")
	alice, bob := u[0], u[1]

	alice.send("nobody", "are you there?")
	alice.expect(notice("no such user: nobody"))
	alice.sendRaw([]byte("not json"))
	alice.expect(notice(usage))

	// Neither mistake reached bob.
	bob.send("", "marker")
	for _, u := range u {
		u.expect(envelope{From: "bob", Message: "marker"})
	}
}

func TestRooms(t *testing.T) {
	addr, _ := startChat(t)
	u := joinAll(t, addr, "alice", "bob", "carol")
	alice, bob, carol := u[0], u[1], u[2]

	alice.sendRaw([]byte(`{"join": "lobby"}`))
	alice.expect(envelope{From: "server", Room: "lobby", Message: "alice joined lobby"})
	bob.sendRaw([]byte(`{"join": "lobby"}`))
	alice.expect(envelope{From: "server", Room: "lobby", Message: "bob joined lobby"})
	bob.expect(envelope{From: "server", Room: "lobby", Message: "bob joined lobby"})
	carol.sendRaw([]byte(`{"who": "lobby"}`))
	carol.expectRaw(`{"from":"server","room":"lobby","members":["alice","bob"]}`)
	carol.sendRaw([]byte(`{"who": "empty"}`))
	carol.expectRaw(`{"from":"server","room":"empty","members":[]}`)

	// A room message reaches the members, not the sender who is not one.
	carol.sendRaw([]byte(`{"room": "lobby", "message": "hi lobby"}`))
	alice.expect(envelope{From: "carol", Room: "lobby", Message: "hi lobby"})
	bob.expect(envelope{From: "carol", Room: "lobby", Message: "hi lobby"})

	bob.sendRaw([]byte(`{"leave": "lobby"}`))
	bob.expect(envelope{From: "server", Room: "lobby", Message: "bob left lobby"})
	alice.expect(envelope{From: "server", Room: "lobby", Message: "bob left lobby"})
	alice.sendRaw([]byte(`{"room": "lobby", "message": "just me"}`))
	alice.expect(envelope{From: "alice", Room: "lobby", Message: "just me"})

	for _, bad := range []string{`{"join": ""}`, `{"room": "", "message": "x"}`} {
		carol.sendRaw([]byte(bad))
		carol.expect(notice("a room needs a name"))
	}
	// A user who leaves leaves the rooms too.
	alice.leave()
	alice.waitClosed()
	bob.expect(notice("alice left"))
	carol.expect(notice("alice left"))
	carol.sendRaw([]byte(`{"who": "lobby"}`))
	carol.expectRaw(`{"from":"server","room":"lobby","members":[]}`)
}

func TestSameNameReplacesOldConnection(t *testing.T) {
	addr, _ := startChat(t)
	u := joinAll(t, addr, "alice", "bob")
	first, bob := u[0], u[1]

	second := join(t, addr, "alice")
	// The first connection no longer belongs to the room, so it hears no
	// join notice: only the close.
	first.expectClose(1008, "name taken by a new connection")
	first.waitClosed()
	second.expect(notice("alice joined"))
	bob.expect(notice("alice joined"))

	// The first connection's OnClose runs just after the server drops its
	// TCP connection; give it a moment, so that a wrong "alice left" would
	// come before the marker below.
	time.Sleep(100 * time.Millisecond)
	bob.send("alice", "which alice?")
	dm := envelope{From: "bob", To: "alice", Message: "which alice?"}
	second.expect(dm)
	bob.expect(dm)
	bob.send("", "marker")
	bob.expect(envelope{From: "bob", Message: "marker"})
	second.expect(envelope{From: "bob", Message: "marker"})
}

// TestShutdownWhileSending cancels run's context while every user is busy
// sending and reading: each must get close 1001 at once, then nothing more
// but the end of the TCP connection, and run must return.
func TestShutdownWhileSending(t *testing.T) {
	addr, stop := startChat(t)
	names := []string{"ann", "ben", "cat", "dan", "eve"}
	users := joinAll(t, addr, names...)
	// A browser keeps a spare connection open that has sent no request,
	// which http.Server.Shutdown waits for: the users must not.
	spare, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()

	var received atomic.Int64
	type result struct {
		closedAt time.Time
		err      error
	}
	results := make(chan result, len(users))
	for i, u := range users {
		to := names[(i+1)%len(names)]
		go func() {
			at, err := chatUntilClosed(u.c, to, &received)
			results <- result{at, err}
		}()
	}

	// Let traffic flow before the shutdown, so it lands mid-conversation.
	deadline := time.Now().Add(wait)
	for received.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if received.Load() == 0 {
		t.Fatal("no messages flowed before the shutdown")
	}
	cancelled := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	for range users {
		r := <-results
		if r.err != nil {
			t.Error(r.err)
		} else if d := r.closedAt.Sub(cancelled); d > 2*time.Second {
			t.Errorf("close 1001 came %v after the context was cancelled", d)
		}
	}
	t.Logf("%d messages received before the shutdown finished", received.Load())
	spare.Close()
	if err := <-stopped; err != nil {
		t.Errorf("run: %v", err)
	}

	if c, _, err := rawclient.Dial(addr, "/ws?name=late", nil); err == nil {
		c.Close()
		t.Error("a connection was accepted after the shutdown")
	}
}

// chatUntilClosed sends direct messages to to, as fast as the server takes
// them, while reading everything the server sends, until the server's close
// frame: that must carry 1001, be answered, and be followed by the end of
// the connection. It returns when the close frame came.
func chatUntilClosed(c *rawclient.Conn, to string, received *atomic.Int64) (closedAt time.Time, err error) {
	stopWriting := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stopWriting:
				writerDone <- nil
				return
			default:
			}
			b, _ := json.Marshal(envelope{To: to, Message: fmt.Sprint("message ", i)})
			if err := c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: b}); err != nil {
				writerDone <- fmt.Errorf("sending to %s: %w", to, err)
				return
			}
		}
	}()
	stop := sync.OnceValue(func() error {
		close(stopWriting)
		return <-writerDone
	})
	defer stop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f, err := c.ReadFrame(time.Until(deadline))
		if err != nil {
			return time.Time{}, fmt.Errorf("waiting for close 1001: %w", err)
		}
		switch f.Opcode {
		case rawclient.OpText:
			received.Add(1)
			continue
		case rawclient.OpPing, rawclient.OpPong:
			continue
		case rawclient.OpClose:
		default:
			return time.Time{}, fmt.Errorf("got a %v frame", f.Opcode)
		}
		closedAt = time.Now()
		if code, reason := closePayload(f.Payload); code != 1001 {
			return closedAt, fmt.Errorf("got close %d %q, want 1001", code, reason)
		}
		// No data frame may follow our close frame.
		if err := stop(); err != nil {
			return closedAt, err
		}
		if err := c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: f.Payload[:2]}); err != nil {
			return closedAt, fmt.Errorf("answering the close: %w", err)
		}
		return closedAt, c.WaitClosed(wait)
	}
}
