package brokertest

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startCluster starts three nodes, node0 to node2, on b.
func startCluster(t *testing.T, b broker) []*node {
	t.Helper()
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = startNodeT(t, b, fmt.Sprint("node", i))
	}
	return nodes
}

// waitMembers waits until every node lists want as room's members.
func waitMembers(t *testing.T, nodes []*node, within time.Duration, room string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, n := range nodes {
		for {
			got := n.hub.Members(room)
			if slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: members of %q are %q, want %q", n.addr, room, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func waitLocate(t *testing.T, nodes []*node, user, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		for {
			got, _ := n.hub.Locate(user)
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s is on %q, want %q", n.addr, user, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestStartRefused(t *testing.T) {
	for scheme, why := range map[string]string{"nats": "no servers available", "redis": "connection refused"} {
		url := fmt.Sprintf("%s://127.0.0.1:%d", scheme, freePort(t))
		b, closer, err := dial(url)
		if err == nil {
			closer.Close()
			t.Errorf("%s: connected to a port nothing listens on", url)
			continue
		}
		if _ = b; !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: the error does not say what was refused: %v", url, err)
		}
	}
}

// sequence checks what one user receives: messages "KIND SENDER N", with
// N counting from 0 for each kind and sender, each exactly once and in
// order. With gaps allowed, only order and uniqueness are checked.
type sequence struct {
	gaps bool
	next map[string]int // by "KIND SENDER"
	err  error
}

func (s *sequence) add(msg string) {
	i := strings.LastIndexByte(msg, ' ')
	n, err := strconv.Atoi(msg[i+1:])
	if err != nil {
		s.fail(fmt.Errorf("unexpected message %q", msg))
		return
	}
	key := msg[:i]
	switch want := s.next[key]; {
	case n == want, s.gaps && n > want:
		s.next[key] = n + 1
	default:
		s.fail(fmt.Errorf("got %q, want number %d from %q: a message lost, repeated or out of order", msg, want, key))
	}
}

func (s *sequence) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// TestDelivery has three senders on three nodes send thousands of room
// and direct messages at once: every member of the room, on every node,
// gets every room message once and in order, and every direct message
// reaches its user once and in order.
func TestDelivery(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		nodes := startCluster(t, b)
		var users []*user
		for i := range 6 {
			u := connect(t, nodes[i/2].addr, fmt.Sprint("u", i))
			u.join("r")
			users = append(users, u)
		}
		waitMembers(t, nodes, 10*time.Second, "r", "u0", "u1", "u2", "u3", "u4", "u5")

		const n = 1000
		senders := []int{0, 2, 4}
		dmTo := map[int]int{0: 3, 2: 5, 4: 1} // each to a user on another node
		want := func(i int) int {             // messages user i must get
			total := len(senders) * n
			for _, to := range dmTo {
				if to == i {
					total += n
				}
			}
			return total
		}
		results := make([]chan error, len(users))
		for i, u := range users {
			results[i] = make(chan error, 1)
			go func() {
				s := sequence{next: map[string]int{}}
				for got := 0; got < want(i) && s.err == nil; got++ {
					select {
					case msg, ok := <-u.in:
						if !ok {
							s.fail(fmt.Errorf("connection closed after %d messages", got))
						}
						s.add(msg)
					case <-time.After(30 * time.Second):
						s.fail(fmt.Errorf("%d of %d messages, then none for 30 s", got, want(i)))
					}
				}
				results[i] <- s.err
			}()
		}
		start := time.Now()
		var wg sync.WaitGroup
		for _, i := range senders {
			wg.Go(func() {
				for k := range n {
					users[i].send(fmt.Sprintf("room r r u%d %d", i, k))
					users[i].send(fmt.Sprintf("to u%d d u%d %d", dmTo[i], i, k))
				}
			})
		}
		wg.Wait()
		for i, r := range results {
			if err := <-r; err != nil {
				t.Errorf("u%d: %v", i, err)
			}
		}
		t.Logf("%d room and %d direct messages, %d deliveries, in %v",
			len(senders)*n, len(senders)*n, len(users)*len(senders)*n+len(senders)*n, time.Since(start).Round(time.Millisecond))
		if t.Failed() {
			return
		}
		// Nothing more was on its way: the next message is this one.
		users[1].send("all end")
		for _, u := range users {
			u.expect("end")
		}
	})
}

// TestPresence follows joins, leaves, disconnections and a node killed
// with SIGKILL on every node's Members and Locate.
func TestPresence(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		nodes := startCluster(t, b)
		a := connect(t, nodes[0].addr, "a")
		bob := connect(t, nodes[1].addr, "b")
		connect(t, nodes[2].addr, "c")
		a.join("r")
		bob.join("r")
		waitMembers(t, nodes, 10*time.Second, "r", "a", "b")
		waitMembers(t, nodes, 10*time.Second, "", "a", "b", "c")
		waitLocate(t, nodes, "c", "node2")

		bob.send("leave r")
		waitMembers(t, nodes, 10*time.Second, "r", "a")
		a.c.Close()
		waitMembers(t, nodes, 10*time.Second, "r")
		waitMembers(t, nodes, 10*time.Second, "", "b", "c")

		addr, child := startChild(t, b)
		ghost := connect(t, addr, "ghost")
		ghost.join("r")
		waitMembers(t, nodes, 10*time.Second, "r", "ghost")
		waitLocate(t, nodes, "ghost", "child")
		if err := child.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		waitMembers(t, nodes, 10*time.Second, "", "b", "c")
		waitMembers(t, nodes, time.Second, "r")
		t.Logf("the killed node's users were forgotten after %v", time.Since(killed).Round(time.Millisecond))
		ghost.closeFrame()
	})
}

// TestBrokerRestart stops the broker while a sender publishes a message to
// a room every 2 ms: the member on the sender's node gets every message,
// outage or not; the members on other nodes get them in order and never
// twice, and again within 10 s of the broker's return; a user who came
// and joined while the broker was down is known everywhere then too.
func TestBrokerRestart(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		nodes := startCluster(t, b)
		sender := connect(t, nodes[0].addr, "sender")
		local := connect(t, nodes[0].addr, "local")
		remote := connect(t, nodes[1].addr, "remote")
		local.join("r")
		remote.join("r")
		waitMembers(t, nodes, 10*time.Second, "r", "local", "remote")

		// Each message carries when it was sent, so a receiver can tell
		// those sent after the restart.
		epoch := time.Now()
		stop := make(chan struct{})
		sent := make(chan int, 1)
		go func() {
			k := 0
			defer func() { sent <- k }()
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for ; ; k++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				at := make([]byte, 0, 8)
				at = binary.BigEndian.AppendUint64(at, uint64(time.Since(epoch)))
				sender.send(fmt.Sprintf("room r r %x %d", at, k))
			}
		}()
		type receipt struct {
			sentAt time.Duration
			n      int
		}
		follow := func(u *user, gaps bool, out chan<- receipt) chan error {
			res := make(chan error, 1)
			go func() {
				s := sequence{gaps: gaps, next: map[string]int{}}
				for msg := range u.in {
					if msg == "end" {
						break
					}
					// "r HEXTIME N": the sequence is per sender, so the
					// time goes out of the key.
					f := strings.Fields(msg)
					if len(f) != 3 {
						s.fail(fmt.Errorf("unexpected message %q", msg))
						continue
					}
					s.add("r " + f[2])
					var at uint64
					fmt.Sscanf(f[1], "%x", &at)
					n, _ := strconv.Atoi(f[2])
					select {
					case out <- receipt{time.Duration(at), n}:
					default:
					}
				}
				res <- s.err
			}()
			return res
		}
		localIn := make(chan receipt, 1<<16)
		remoteIn := make(chan receipt, 1<<16)
		localDone := follow(local, false, localIn)
		remoteDone := follow(remote, true, remoteIn)
		latest := func(in chan receipt) (r receipt) {
			for {
				select {
				case r = <-in:
				default:
					return r
				}
			}
		}

		time.Sleep(300 * time.Millisecond)
		b.Stop(t)
		stopped := time.Since(epoch)
		late := connect(t, nodes[2].addr, "late")
		late.join("r")
		lateDone := follow(late, true, make(chan receipt))
		time.Sleep(2 * time.Second)
		if r := latest(localIn); r.sentAt < stopped+time.Second {
			t.Errorf("while the broker was down the member on the sender's node got nothing sent after %v (last: %v)", stopped, r.sentAt)
		}
		latest(remoteIn)

		b.Start(t)
		restarted := time.Since(epoch)
		for {
			r := <-remoteIn // the follower gives up after 30 s of silence
			if r.sentAt > restarted {
				t.Logf("across nodes again %v after the restart", (r.sentAt - restarted).Round(time.Millisecond))
				break
			}
			if time.Since(epoch)-restarted > 10*time.Second {
				t.Fatal("nothing across nodes within 10 s of the restart")
			}
		}
		waitMembers(t, nodes, 10*time.Second, "r", "late", "local", "remote")
		waitMembers(t, nodes, time.Second, "", "late", "local", "remote", "sender")
		t.Logf("presence whole again %v after the restart", (time.Since(epoch) - restarted).Round(time.Millisecond))

		close(stop)
		total := <-sent
		sender.send("room r end")
		for name, done := range map[string]chan error{"local": localDone, "remote": remoteDone, "late": lateDone} {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("%s: no end within 10 s", name)
			}
		}
		t.Logf("%d messages sent, a broker outage of %v", total, restarted-stopped)
	})
}

// TestSameName connects a user on one node, then on another: the first
// connection is closed with 1008, and messages reach the second.
func TestSameName(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		nodes := startCluster(t, b)
		first := connect(t, nodes[0].addr, "alice")
		waitLocate(t, nodes, "alice", "node0")
		second := connect(t, nodes[1].addr, "alice")
		want := append(binary.BigEndian.AppendUint16(nil, 1008), "name taken by a new connection"...)
		if got := first.closeFrame(); string(got) != string(want) {
			t.Errorf("the first connection got close %q, want %q", got, want)
		}
		waitLocate(t, nodes, "alice", "node1")
		waitMembers(t, nodes, 10*time.Second, "", "alice")
		bob := connect(t, nodes[2].addr, "bob")
		bob.send("to alice hello")
		second.expect("hello")
	})
}
