package brokertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/core/rooms"
	"github.com/gwsgo/gws/internal/wstest/leak"
	"github.com/gwsgo/gws/internal/wstest/rawclient"
)

// childEnv names the broker a child process runs a node on (see TestMain).
const childEnv = "GWS_BROKERTEST_NODE"

func TestMain(m *testing.M) {
	if url := os.Getenv(childEnv); url != "" {
		runChild(url)
		return
	}
	leak.VerifyTestMain(m)
}

// node is one server of the cluster: a Hub on its own broker connection,
// serving clients at /ws?name=NAME. A client sends commands as text
// messages: "join ROOM", "leave ROOM", "room ROOM TEXT", "to USER TEXT",
// "all TEXT"; the node answers a join with "joined ROOM" once the join is
// announced, and delivers TEXT as it is.
type node struct {
	addr   string
	hub    *rooms.Hub
	broker io.Closer
	up     *gws.Upgrader
	srv    *http.Server
	served chan error
}

func startNode(url, name string) (*node, error) {
	b, closer, err := dial(url)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		closer.Close()
		return nil, err
	}
	if name == "" {
		name = ln.Addr().String()
	}
	hub, err := rooms.New(&rooms.Options{Broker: b, Node: name})
	if err != nil {
		closer.Close()
		ln.Close()
		return nil, err
	}
	n := &node{addr: ln.Addr().String(), hub: hub, broker: closer, served: make(chan error, 1)}
	n.up = &gws.Upgrader{
		// Thousands of messages arrive in bursts: a queue that drops
		// (the default policy past 256) would lose them.
		ServerOptions: &gws.ServerOptions{WriteQueueMessages: 1 << 16, WriteQueueBytes: 64 << 20},
		CheckOrigin: func(r *gws.Request) bool {
			r.Storage.Put("name", r.URL.Query().Get("name"))
			return true
		},
	}
	n.srv = &http.Server{Handler: gwshttp.Handler(n.up, handler{hub}), ReadHeaderTimeout: 5 * time.Second}
	go func() { n.served <- n.srv.Serve(ln) }()
	return n, nil
}

// startNodeT starts a node that stops when the test ends.
func startNodeT(t *testing.T, b broker, name string) *node {
	t.Helper()
	n, err := startNode(b.URL(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.stop(); err != nil {
			t.Error(err)
		}
	})
	return n
}

func (n *node) stop() error {
	n.hub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := n.up.Shutdown(ctx)
	n.srv.Close()
	if serr := <-n.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, n.broker.Close())
}

type handler struct{ hub *rooms.Hub }

func name(c *gws.Conn) string {
	v, _ := c.Storage.Get("name")
	s, _ := v.(string)
	return s
}

func (h handler) OnOpen(c *gws.Conn) {
	if err := h.hub.Add(name(c), c); err != nil {
		c.WriteClose(gws.CloseInternalError, []byte(err.Error()))
	}
}

func (h handler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	verb, rest, _ := strings.Cut(string(m.Bytes()), " ")
	var err error
	switch verb {
	case "join":
		if err = h.hub.Join(rest, c); err == nil {
			c.WriteAsync(gws.OpcodeText, []byte("joined "+rest), nil)
		}
	case "leave":
		h.hub.Leave(rest, c)
	case "room":
		room, text, _ := strings.Cut(rest, " ")
		err = h.hub.Publish(room, gws.OpcodeText, []byte(text))
	case "to":
		user, text, _ := strings.Cut(rest, " ")
		err = h.hub.Send(user, gws.OpcodeText, []byte(text))
	case "all":
		err = h.hub.Publish("", gws.OpcodeText, []byte(rest))
	default:
		err = fmt.Errorf("unknown command %q", verb)
	}
	if err != nil {
		c.WriteAsync(gws.OpcodeText, []byte("error "+err.Error()), nil)
	}
}

func (handler) OnClose(*gws.Conn, gws.Code, []byte) {}
func (handler) OnError(*gws.Conn, error)            {}
func (handler) OnPing(*gws.Conn, []byte)            {}
func (handler) OnPong(*gws.Conn, []byte)            {}

// runChild is a node in a process of its own, for a test to kill: it
// prints its address and serves until killed.
func runChild(url string) {
	n, err := startNode(url, "child")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(n.addr)
	select {}
}

// startChild runs a node in a child process (this test binary again) and
// returns its address and the process, which is killed when the test ends.
func startChild(t *testing.T, b broker) (string, *os.Process) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+b.URL())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Scan()
		line <- sc.Text()
		io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatal("the child node printed no address")
		}
		return addr, cmd.Process
	case <-time.After(30 * time.Second):
		t.Fatal("the child node did not start within 30 s")
	}
	return "", nil
}

// user is a client of a node; a goroutine reads what the node sends into
// a channel.
type user struct {
	t      *testing.T
	name   string
	c      *rawclient.Conn
	in     chan string
	mu     sync.Mutex
	closed []byte // the close frame's payload, once it came
}

func connect(t *testing.T, addr, name string) *user {
	t.Helper()
	c, _, err := rawclient.Dial(addr, "/ws?name="+name, nil)
	if err != nil {
		t.Fatalf("%s connecting to %s: %v", name, addr, err)
	}
	u := &user{t: t, name: name, c: c, in: make(chan string, 1<<16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(u.in)
		for {
			f, err := c.ReadFrame(0)
			if err != nil {
				return
			}
			switch f.Opcode {
			case rawclient.OpText:
				u.in <- string(f.Payload)
			case rawclient.OpClose:
				u.mu.Lock()
				u.closed = f.Payload
				u.mu.Unlock()
				c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpClose, Payload: f.Payload[:min(2, len(f.Payload))]})
			}
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return u
}

func (u *user) send(s string) {
	u.t.Helper()
	if err := u.c.WriteFrame(rawclient.Frame{Fin: true, Opcode: rawclient.OpText, Payload: []byte(s)}); err != nil {
		u.t.Fatalf("%s sending %q: %v", u.name, s, err)
	}
}

// next returns the next message, failing after 10 s.
func (u *user) next() string {
	u.t.Helper()
	select {
	case s, ok := <-u.in:
		if !ok {
			u.t.Fatalf("%s: connection closed while waiting for a message", u.name)
		}
		return s
	case <-time.After(10 * time.Second):
		u.t.Fatalf("%s: no message within 10 s", u.name)
	}
	return ""
}

func (u *user) expect(want string) {
	u.t.Helper()
	if got := u.next(); got != want {
		u.t.Fatalf("%s got %q, want %q", u.name, got, want)
	}
}

func (u *user) join(room string) {
	u.t.Helper()
	u.send("join " + room)
	u.expect("joined " + room)
}

// closeFrame waits for the connection to end and returns the close frame
// that ended it (nil without one).
func (u *user) closeFrame() []byte {
	u.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-u.in:
			if ok {
				continue
			}
			u.mu.Lock()
			defer u.mu.Unlock()
			return u.closed
		case <-deadline:
			u.t.Fatalf("%s: still open after 10 s", u.name)
		}
	}
}
