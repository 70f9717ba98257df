package rooms

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/core/internal/bufpool"
	"github.com/gwsgo/gws/core/internal/connhook"
)

// Hub keeps the users and rooms of one node of a cluster and delivers
// messages to them wherever they are connected (see the package
// documentation). Its methods are safe for concurrent use.
type Hub struct {
	broker Broker
	id     uint64 // random, so a restarted node is a new node to its peers
	name   string
	beat   time.Duration
	prefix string

	// ctl makes each change of local membership whole before the next:
	// the state, then the broker subscription, then the announcement, so
	// announcements go out in the order of the changes and a room is
	// announced only once its subscription is in place. Broker callbacks
	// never take it.
	ctl sync.Mutex

	mu        sync.RWMutex // guards the fields below
	users     map[string]*member
	conns     map[*gws.Conn]*member
	rooms     map[string]*hubRoom
	closed    bool
	lastSince int64

	everyone *hubRoom
	subs     []func() error // everyone, presence and this node's subjects

	snaps sync.Pool // *[]*member, for fan-out without allocating per receiver

	presence
}

// Options configures a Hub. The zero value is a single node with the
// in-process broker.
type Options struct {
	// Broker connects the Hub to the other nodes. nil means an in-process
	// broker: this node alone.
	Broker Broker

	// Node is the name Locate reports for this node, such as the address
	// its clients reach it at. Default: the host name and the process ID.
	Node string

	// Prefix starts every subject the Hub uses, so that clusters can
	// share a broker. Default "gws".
	Prefix string

	// Heartbeat is how often the node tells its peers that it is alive; a
	// peer that hears nothing from it for three heartbeats forgets it.
	// Every node of a cluster must use the same value. Default 2 s.
	Heartbeat time.Duration
}

// member is a user's connection on this node.
type member struct {
	name  string
	c     *gws.Conn
	since int64               // when the user connected, in Unix nanoseconds: the newest connection wins
	rooms map[string]*hubRoom // rooms joined, the everyone room aside

	replaced atomic.Bool // a newer connection of the user, on another node, closes this one
}

// hubRoom is a room with members on this node.
type hubRoom struct {
	name    string
	subject string
	unsub   func() error // guarded by Hub.ctl

	mu   sync.RWMutex
	list []*member
	at   map[*member]int // index in list
}

var errHubClosed = errors.New("rooms: hub closed")

// closeReason is what a connection replaced by a newer one of its user
// is told, with gws.ClosePolicyViolation.
const closeReason = "name taken by a new connection"

// New starts a Hub: it subscribes to its subjects and announces the
// node to its peers. opts may be nil.
func New(opts *Options) (*Hub, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Broker == nil {
		o.Broker = new(memBroker)
	}
	if o.Node == "" {
		host, _ := os.Hostname()
		o.Node = host + ":" + strconv.Itoa(os.Getpid())
	}
	if o.Prefix == "" {
		o.Prefix = "gws"
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 2 * time.Second
	}
	var id [8]byte
	rand.Read(id[:])
	h := &Hub{
		broker: o.Broker,
		id:     binary.BigEndian.Uint64(id[:]),
		name:   o.Node,
		beat:   o.Heartbeat,
		prefix: o.Prefix,
		users:  make(map[string]*member),
		conns:  make(map[*gws.Conn]*member),
		rooms:  make(map[string]*hubRoom),
	}
	h.everyone = &hubRoom{subject: h.prefix + ".all"}
	h.presence.init()
	subs := []struct {
		subject string
		f       func([]byte, bool)
	}{
		{h.everyone.subject, func(b []byte, more bool) { h.onData(h.everyone, b, more) }},
		{h.nodeSubject(h.id), func(b []byte, more bool) { h.onData(nil, b, more) }},
		{h.presenceSubject(), func(b []byte, _ bool) { h.onPresence(b) }},
	}
	for _, s := range subs {
		unsub, err := h.broker.Subscribe(s.subject, s.f)
		if err != nil {
			h.unsubscribe(h.subs)
			return nil, fmt.Errorf("rooms: hub subscribing to %s: %w", s.subject, err)
		}
		h.subs = append(h.subs, unsub)
	}
	h.start()
	return h, nil
}

func (h *Hub) roomSubject(name string) string {
	return h.prefix + ".room." + base64.RawURLEncoding.EncodeToString([]byte(name))
}

func (h *Hub) nodeSubject(id uint64) string {
	return h.prefix + ".node." + hex.EncodeToString(binary.BigEndian.AppendUint64(nil, id))
}

func (h *Hub) presenceSubject() string { return h.prefix + ".presence" }

// Add makes c the connection of user on this node, and a member of the
// room of everyone (""). The user's older connection, on this node or
// another, is closed with 1008 and the reason "name taken by a new
// connection", and leaves its rooms. c leaves the Hub when it ends, before
// its OnClose is called.
func (h *Hub) Add(user string, c *gws.Conn) error {
	h.ctl.Lock()
	defer h.ctl.Unlock()
	newest := h.newestSince(user)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errHubClosed
	}
	if m := h.conns[c]; m != nil {
		h.mu.Unlock()
		if m.name == user {
			return nil
		}
		return fmt.Errorf("rooms: Hub.Add %q: the connection is user %q already", user, m.name)
	}
	since := max(time.Now().UnixNano(), h.lastSince+1, newest+1)
	h.lastSince = since
	m := &member{name: user, c: c, since: since}
	old := h.users[user]
	h.users[user] = m
	h.conns[c] = m
	h.mu.Unlock()
	if !connhook.OnEnd(c, func() { h.end(m) }) {
		h.mu.Lock()
		delete(h.conns, c)
		if old != nil {
			h.users[user] = old
		} else {
			delete(h.users, user)
		}
		h.mu.Unlock()
		return fmt.Errorf("rooms: Hub.Add %q: %w", user, net.ErrClosed)
	}
	h.everyone.add(m)
	if old != nil {
		h.drop(old)
		connhook.CloseAsync(old.c, uint16(gws.ClosePolicyViolation), []byte(closeReason))
	}
	h.announce(wireMsg{delta: deltaOnline, user: user, since: since})
	return nil
}

// Join adds c, a connection added to the Hub, to room's members. It
// returns once every node can reach c through room: once the broker has
// the subscription, where it says so, and before the node announces the
// new member. A connection that is a member already stays one.
func (h *Hub) Join(room string, c *gws.Conn) error {
	if room == "" {
		return errors.New("rooms: Hub.Join: the room of everyone is joined by Add")
	}
	h.ctl.Lock()
	defer h.ctl.Unlock()
	h.mu.Lock()
	m := h.conns[c]
	switch {
	case h.closed:
		h.mu.Unlock()
		return errHubClosed
	case m == nil:
		h.mu.Unlock()
		return fmt.Errorf("rooms: Hub.Join %q: the connection was not added to the hub, or has ended", room)
	case m.rooms[room] != nil:
		h.mu.Unlock()
		return nil
	}
	r := h.rooms[room]
	if r == nil {
		r = &hubRoom{name: room, subject: h.roomSubject(room)}
		h.rooms[room] = r
	}
	if m.rooms == nil {
		m.rooms = make(map[string]*hubRoom)
	}
	m.rooms[room] = r
	h.mu.Unlock()
	r.add(m)
	if r.unsub == nil {
		unsub, err := h.broker.Subscribe(r.subject, func(b []byte, more bool) { h.onData(r, b, more) })
		if err != nil {
			h.leave(m, r)
			return fmt.Errorf("rooms: Hub.Join %q: %w", room, err)
		}
		r.unsub = unsub
	}
	h.announce(wireMsg{delta: deltaJoin, user: m.name, room: room})
	return nil
}

// Leave removes c from room's members; it does nothing if c is not one.
func (h *Hub) Leave(room string, c *gws.Conn) {
	h.ctl.Lock()
	defer h.ctl.Unlock()
	h.mu.RLock()
	m := h.conns[c]
	var r *hubRoom
	if m != nil {
		r = m.rooms[room]
	}
	h.mu.RUnlock()
	if r != nil && h.leave(m, r) {
		h.announce(wireMsg{delta: deltaLeave, user: m.name, room: room})
	}
}

// leave takes m out of r, and drops r and its subscription when it was
// the last member; it reports whether m was a member. The caller holds ctl.
func (h *Hub) leave(m *member, r *hubRoom) bool {
	h.mu.Lock()
	if m.rooms[r.name] != r {
		h.mu.Unlock()
		return false
	}
	delete(m.rooms, r.name)
	left := r.remove(m)
	if left == 0 && h.rooms[r.name] == r {
		delete(h.rooms, r.name)
	}
	h.mu.Unlock()
	if left == 0 && r.unsub != nil {
		r.unsub()
		r.unsub = nil
	}
	return true
}

// drop takes m out of the Hub and out of every room it is in; the caller
// holds ctl.
func (h *Hub) drop(m *member) {
	h.mu.Lock()
	if h.conns[m.c] == m {
		delete(h.conns, m.c)
	}
	if h.users[m.name] == m {
		delete(h.users, m.name)
	}
	rooms := make([]*hubRoom, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	h.everyone.remove(m)
	for _, r := range rooms {
		h.leave(m, r)
	}
}

// end runs when a member's connection ends.
func (h *Hub) end(m *member) {
	h.ctl.Lock()
	defer h.ctl.Unlock()
	h.mu.RLock()
	current, last := h.conns[m.c] == m, h.users[m.name] == m
	h.mu.RUnlock()
	if !current { // replaced, or the hub closed
		return
	}
	h.drop(m)
	if last {
		h.announce(wireMsg{delta: deltaOffline, user: m.name})
	}
}

// Publish sends a message to room's members on every node; the room ""
// is everyone's. The publisher need not be a member. Members on this node
// have the message queued (gws.Broadcaster) when Publish returns;
// the others get it through the broker, and its error is returned.
func (h *Hub) Publish(room string, op gws.Opcode, payload []byte) error {
	h.mu.RLock()
	closed := h.closed
	r := h.everyone
	if room != "" {
		r = h.rooms[room]
	}
	h.mu.RUnlock()
	if closed {
		return errHubClosed
	}
	subject := ""
	if r != nil {
		h.deliver(r, op, payload, false)
		subject = r.subject
	} else {
		subject = h.roomSubject(room)
	}
	if err := h.publish(subject, "", op, payload); err != nil {
		return fmt.Errorf("rooms: Hub.Publish to room %q: %w", room, err)
	}
	return nil
}

// Send sends a message to user's newest connection, on whichever node it
// is. It returns an error if no node has the user, as far as this node
// knows (see Locate).
func (h *Hub) Send(user string, op gws.Opcode, payload []byte) error {
	m, peer, _, ok := h.find(user)
	switch {
	case !ok:
		return fmt.Errorf("rooms: Hub.Send: no user %q in the cluster", user)
	case m != nil:
		m.c.WriteAsync(op, payload, nil)
		return nil
	}
	if err := h.publish(h.nodeSubject(peer), user, op, payload); err != nil {
		return fmt.Errorf("rooms: Hub.Send to %q: %w", user, err)
	}
	return nil
}

// publish encodes a room message (user == "") or a direct message into a
// pooled buffer and publishes it.
func (h *Hub) publish(subject, user string, op gws.Opcode, payload []byte) error {
	buf := bufpool.Get(wireHeader + 1 + binary.MaxVarintLen64 + len(user) + len(payload))
	b := appendData((*buf)[:0], h.id, user, op, payload)
	err := h.broker.Publish(subject, b)
	bufpool.Put(buf) // b fits: the size above is an upper bound
	return err
}

// onData delivers a room message (to r) or a direct message (r == nil)
// that came through the broker.
func (h *Hub) onData(r *hubRoom, b []byte, more bool) {
	m, err := decodeWire(b)
	if err != nil || m.origin == h.id {
		return // this node delivered its own messages itself
	}
	switch {
	case m.kind == kindRoom && r != nil:
		h.deliver(r, m.op, m.payload, more)
	case m.kind == kindDirect && r == nil:
		h.mu.RLock()
		to := h.users[m.user]
		h.mu.RUnlock()
		if to != nil {
			to.c.WriteAsync(m.op, m.payload, nil)
		}
	}
}

// deliver sends one frame, encoded once, to every member of r. With more
// (messages already waiting behind this one), the frame goes to the
// members' write queues, so that it and those behind it reach each member
// in one write.
func (h *Hub) deliver(r *hubRoom, op gws.Opcode, payload []byte, more bool) {
	snap, _ := h.snaps.Get().(*[]*member)
	if snap == nil {
		snap = new([]*member)
	}
	r.mu.RLock()
	*snap = append(*snap, r.list...)
	r.mu.RUnlock()
	if len(*snap) > 0 {
		b := gws.NewBroadcaster(op, payload)
		if more {
			connhook.Coalesce(b)
		}
		for _, m := range *snap {
			b.Broadcast(m.c)
		}
		b.Close()
	}
	clear(*snap)
	*snap = (*snap)[:0]
	h.snaps.Put(snap)
}

// Close takes the node out of the cluster: its peers forget it and its
// users at once, and its connections, which stay open, are no longer
// members of anything. It does not close the broker.
func (h *Hub) Close() error {
	h.ctl.Lock()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.ctl.Unlock()
		return nil
	}
	h.closed = true
	subs := h.subs
	for _, r := range h.rooms {
		if r.unsub != nil {
			subs = append(subs, r.unsub)
		}
	}
	h.users, h.conns, h.rooms = nil, nil, nil
	h.mu.Unlock()
	// run may be waiting for ctl to take a snapshot: let it see closed.
	h.ctl.Unlock()
	h.stop()
	h.unsubscribe(subs)
	h.everyone.mu.Lock()
	h.everyone.list, h.everyone.at = nil, nil
	h.everyone.mu.Unlock()
	h.pmu.Lock()
	clear(h.peers)
	h.pmu.Unlock()
	return nil
}

func (h *Hub) unsubscribe(subs []func() error) {
	for _, unsub := range subs {
		unsub()
	}
}

func (r *hubRoom) add(m *member) {
	r.mu.Lock()
	if r.at == nil {
		r.at = make(map[*member]int)
	}
	if _, ok := r.at[m]; !ok {
		r.at[m] = len(r.list)
		r.list = append(r.list, m)
	}
	r.mu.Unlock()
}

// remove takes m out of r and returns how many members are left.
func (r *hubRoom) remove(m *member) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.at[m]
	if !ok {
		return len(r.list)
	}
	last := len(r.list) - 1
	r.list[i] = r.list[last]
	r.at[r.list[i]] = i
	r.list[last] = nil
	r.list = r.list[:last]
	delete(r.at, m)
	return last
}

// names appends the names of r's members to dst.
func (r *hubRoom) names(dst []string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range r.list {
		dst = append(dst, m.name)
	}
	return dst
}
