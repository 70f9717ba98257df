package rooms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
)

// TestMain fails the run when a goroutine of gws outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leaks(); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leaks returns the stacks of the goroutines of gws still running after
// up to 5 s, or "".
func leaks() string {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		var leaked []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "gws/core") && !strings.Contains(g, "rooms.leaks") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
	}
}

// hubNode is one node of a test cluster: a Hub and a server whose
// connections the test adds to it.
type hubNode struct {
	hub    *Hub
	addr   string
	conns  chan *gws.Conn
	broker *cutBroker
}

// cutBroker lets a test cut a node off its broker, both ways, as a dead
// node or a network partition would.
type cutBroker struct {
	Broker
	cut atomic.Bool
}

var errCut = errors.New("cut off")

func (b *cutBroker) Publish(subject string, data []byte) error {
	if b.cut.Load() {
		return errCut
	}
	return b.Broker.Publish(subject, data)
}

func (b *cutBroker) Subscribe(subject string, f func([]byte, bool)) (func() error, error) {
	return b.Broker.Subscribe(subject, func(data []byte, more bool) {
		if !b.cut.Load() {
			f(data, more)
		}
	})
}

// cluster starts n nodes on one in-process broker.
func cluster(t *testing.T, n int, beat time.Duration) []*hubNode {
	t.Helper()
	shared := new(memBroker)
	nodes := make([]*hubNode, n)
	for i := range nodes {
		node := &hubNode{conns: make(chan *gws.Conn, 16), broker: &cutBroker{Broker: shared}}
		node.addr = serve(t, node.conns)
		hub, err := New(&Options{Broker: node.broker, Node: fmt.Sprint("node", i), Heartbeat: beat})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { hub.Close() })
		node.hub = hub
		nodes[i] = node
	}
	return nodes
}

// serve runs a WebSocket server on a loopback port until the test ends,
// and hands it every connection it accepts.
func serve(t *testing.T, conns chan<- *gws.Conn) string {
	t.Helper()
	u := &gws.Upgrader{CheckOrigin: func(*gws.Request) bool { return true }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := u.Upgrade(context.Background(), w, r, gws.NopHandler{}); err == nil {
			conns <- c
		}
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		u.Shutdown(ctx)
		srv.Close()
	})
	return srv.Listener.Addr().String()
}

// client is a user's end of a connection: it keeps what the server sends.
type client struct {
	t      *testing.T
	c      *gws.Conn
	in     chan string
	closed chan string // "CODE REASON", once
}

func (cl *client) OnOpen(*gws.Conn)         {}
func (cl *client) OnError(*gws.Conn, error) {}
func (cl *client) OnPing(*gws.Conn, []byte) {}
func (cl *client) OnPong(*gws.Conn, []byte) {}
func (cl *client) OnMessage(_ *gws.Conn, m *gws.Message) {
	cl.in <- string(m.Bytes())
	m.Close()
}
func (cl *client) OnClose(_ *gws.Conn, code gws.Code, reason []byte) {
	cl.closed <- fmt.Sprint(code, " ", string(reason))
}

// connect opens a connection to the node and adds it to the hub as user.
func (n *hubNode) connect(t *testing.T, user string) (*client, *gws.Conn) {
	t.Helper()
	cl := &client{t: t, in: make(chan string, 64), closed: make(chan string, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	cl.c, _, err = gws.Dial(ctx, "ws://"+n.addr+"/", cl, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl.c.Close()
		<-cl.closed
	})
	var c *gws.Conn
	select {
	case c = <-n.conns:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection")
	}
	if err := n.hub.Add(user, c); err != nil {
		t.Fatal(err)
	}
	return cl, c
}

// expectReplaced waits for the close that a newer connection of the same
// user brings.
func (cl *client) expectReplaced() {
	cl.t.Helper()
	select {
	case got := <-cl.closed:
		if want := fmt.Sprint(gws.ClosePolicyViolation, " ", closeReason); got != want {
			cl.t.Fatalf("closed with %q, want %q", got, want)
		}
		cl.closed <- got // for the cleanup
	case <-time.After(5 * time.Second):
		cl.t.Fatal("not closed")
	}
}

func (cl *client) expectText(want string) {
	cl.t.Helper()
	select {
	case got := <-cl.in:
		if got != want {
			cl.t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		cl.t.Fatalf("no message; want %q", want)
	}
}

// waitFor polls cond until it holds, failing after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func waitMembers(t *testing.T, h *Hub, room string, want ...string) {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("members of %q on %s to be %q", room, h.name, want), func() bool {
		got = h.Members(room)
		return slices.Equal(got, want)
	})
}

func TestHubOneNode(t *testing.T) {
	node := cluster(t, 1, 0)[0]
	h := node.hub
	alice, aliceConn := node.connect(t, "alice")
	bob, bobConn := node.connect(t, "bob")
	carol, _ := node.connect(t, "carol")

	for _, c := range []*gws.Conn{aliceConn, bobConn} {
		if err := h.Join("r", c); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Join("r", aliceConn); err != nil { // a member already
		t.Fatal(err)
	}
	if got := h.Members("r"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("members of r: %q", got)
	}
	if got := h.Members(""); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Errorf("everyone: %q", got)
	}
	if node, ok := h.Locate("bob"); node != "node0" || !ok {
		t.Errorf("Locate(bob) = %q, %v", node, ok)
	}
	if _, ok := h.Locate("dave"); ok {
		t.Error("Locate found dave")
	}

	h.Publish("r", gws.OpcodeText, []byte("to r"))
	alice.expectText("to r")
	bob.expectText("to r")
	if err := h.Send("carol", gws.OpcodeText, []byte("to carol")); err != nil {
		t.Fatal(err)
	}
	carol.expectText("to carol") // and nothing of r before it
	if err := h.Send("dave", gws.OpcodeText, []byte("?")); err == nil {
		t.Error("Send to nobody: no error")
	}

	h.Leave("r", bobConn)
	h.Leave("r", bobConn) // no longer a member: nothing happens
	h.Publish("r", gws.OpcodeText, []byte("r again"))
	h.Publish("", gws.OpcodeText, []byte("everyone"))
	alice.expectText("r again")
	alice.expectText("everyone")
	bob.expectText("everyone")
	carol.expectText("everyone")

	// A connection that ends leaves its rooms; the last member takes the
	// room with it.
	alice.c.Close()
	waitMembers(t, h, "r")
	waitMembers(t, h, "", "bob", "carol")
	h.mu.RLock()
	rooms := len(h.rooms)
	h.mu.RUnlock()
	if rooms != 0 {
		t.Errorf("%d rooms left", rooms)
	}
	if err := h.Join("r", aliceConn); err == nil {
		t.Error("a connection that ended joined a room")
	}

	// A name belongs to its newest connection.
	bob2, _ := node.connect(t, "bob")
	bob.expectReplaced()
	h.Publish("", gws.OpcodeText, []byte("which bob?"))
	bob2.expectText("which bob?")
	carol.expectText("which bob?")
	waitMembers(t, h, "", "bob", "carol")
}

func TestHubClosed(t *testing.T) {
	node := cluster(t, 1, 0)[0]
	_, c := node.connect(t, "alice")
	if err := node.hub.Add("bob", c); err == nil {
		t.Error("one connection added as two users")
	}
	node.hub.Close()
	if err := node.hub.Publish("", gws.OpcodeText, nil); !errors.Is(err, errHubClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := node.hub.Join("r", c); !errors.Is(err, errHubClosed) {
		t.Errorf("Join after Close: %v", err)
	}
	if got := node.hub.Members(""); len(got) != 0 {
		t.Errorf("members after Close: %q", got)
	}
}

func TestHubAcrossNodes(t *testing.T) {
	nodes := cluster(t, 3, 50*time.Millisecond)
	alice, aliceConn := nodes[0].connect(t, "alice")
	bob, bobConn := nodes[1].connect(t, "bob")
	carol, carolConn := nodes[2].connect(t, "carol")
	dave, _ := nodes[2].connect(t, "dave")
	for i, c := range []*gws.Conn{aliceConn, bobConn, carolConn} {
		if err := nodes[i].hub.Join("r", c); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		waitMembers(t, n.hub, "r", "alice", "bob", "carol")
		waitMembers(t, n.hub, "", "alice", "bob", "carol", "dave")
	}
	if node, _ := nodes[0].hub.Locate("dave"); node != "node2" {
		t.Errorf("Locate(dave) on node0 = %q", node)
	}

	// A room message reaches every member once, wherever it is, and no
	// one else: the everyone message after it is dave's first.
	if err := nodes[0].hub.Publish("r", gws.OpcodeText, []byte("to r")); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].hub.Send("dave", gws.OpcodeText, []byte("to dave")); err != nil {
		t.Fatal(err)
	}
	nodes[2].hub.Publish("", gws.OpcodeText, []byte("everyone"))
	for _, c := range []*client{alice, bob, carol} {
		c.expectText("to r")
		c.expectText("everyone")
	}
	dave.expectText("to dave")
	dave.expectText("everyone")

	// alice connects again on node 1: node 0 closes her first connection.
	alice2, _ := nodes[1].connect(t, "alice")
	alice.expectReplaced()
	for _, n := range nodes {
		waitFor(t, "alice on node1 for "+n.hub.name, func() bool {
			node, _ := n.hub.Locate("alice")
			return node == "node1"
		})
		// The old connection's rooms went with it.
		waitMembers(t, n.hub, "r", "bob", "carol")
	}
	nodes[2].hub.Send("alice", gws.OpcodeText, []byte("to alice"))
	alice2.expectText("to alice")

	// A node that leaves takes its users with it at once.
	nodes[2].hub.Close()
	for _, n := range nodes[:2] {
		waitMembers(t, n.hub, "", "alice", "bob")
		waitMembers(t, n.hub, "r", "bob")
	}
}

// TestHubForgetsSilentNode cuts a node off, as if killed: the others
// forget it and its users after three heartbeats; back, it is known again,
// with what changed meanwhile.
func TestHubForgetsSilentNode(t *testing.T) {
	const beat = 40 * time.Millisecond
	nodes := cluster(t, 3, beat)
	nodes[0].connect(t, "alice")
	_, bobConn := nodes[2].connect(t, "bob")
	nodes[2].hub.Join("r", bobConn)
	waitMembers(t, nodes[0].hub, "r", "bob")

	nodes[2].broker.cut.Store(true)
	cut := time.Now()
	for _, n := range nodes[:2] {
		waitMembers(t, n.hub, "", "alice")
		waitMembers(t, n.hub, "r")
	}
	if d := time.Since(cut); d < 3*beat {
		t.Errorf("node forgotten after %v, before three heartbeats", d)
	}
	// Changes made while cut off reach no one; the heartbeats after it
	// show the peers they missed them.
	nodes[2].connect(t, "carol")
	nodes[2].broker.cut.Store(false)
	for _, n := range nodes[:2] {
		waitMembers(t, n.hub, "", "alice", "bob", "carol")
		waitMembers(t, n.hub, "r", "bob")
	}
	waitMembers(t, nodes[2].hub, "", "alice", "bob", "carol")
}

// TestHubResyncAfterLostDeltas loses a node's announcements while it
// stays alive: its peers find the gap and take a snapshot.
func TestHubResyncAfterLostDeltas(t *testing.T) {
	nodes := cluster(t, 2, 30*time.Millisecond)
	_, c := nodes[1].connect(t, "bob")
	waitMembers(t, nodes[0].hub, "", "bob")
	for i := range 200 { // a snapshot of several parts
		nodes[1].hub.mu.Lock()
		nodes[1].hub.users[fmt.Sprintf("%0200d", i)] = &member{since: 1}
		nodes[1].hub.mu.Unlock()
	}
	nodes[1].hub.Join("lost", c)
	nodes[1].broker.cut.Store(true)
	nodes[1].hub.Leave("lost", c)
	nodes[1].hub.Join("kept", c)
	time.Sleep(10 * time.Millisecond) // the deltas are lost
	nodes[1].broker.cut.Store(false)
	waitMembers(t, nodes[0].hub, "kept", "bob")
	waitMembers(t, nodes[0].hub, "lost")
	if n := len(nodes[0].hub.Members("")); n != 201 {
		t.Errorf("%d users after the snapshot, want 201", n)
	}
	// Ready for what comes next: a delta in sequence.
	nodes[1].hub.Leave("kept", c)
	waitMembers(t, nodes[0].hub, "kept")
}

func TestMemBrokerUnsubscribe(t *testing.T) {
	var b memBroker
	var got []string
	unsub1, _ := b.Subscribe("s", func(p []byte, _ bool) { got = append(got, "1:"+string(p)) })
	unsub2, _ := b.Subscribe("s", func(p []byte, _ bool) { got = append(got, "2:"+string(p)) })
	b.Publish("s", []byte("a"))
	unsub1()
	unsub1()
	b.Publish("s", []byte("b"))
	unsub2()
	b.Publish("s", []byte("c"))
	if want := []string{"1:a", "2:a", "2:b"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(b.subs) != 0 {
		t.Errorf("subscriptions left: %v", b.subs)
	}
}
