package rooms

import (
	"slices"
	"sync"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/core/internal/connhook"
)

// presence is what a Hub knows of its peers and what it tells them.
//
// Every node announces each change of its membership (a delta) on the
// presence subject, numbered: a peer applies deltas in sequence and, when
// it finds a gap (a message lost while the broker was down), asks for a
// snapshot. A heartbeat carries the latest number, so a peer that missed
// the last delta finds out too, and keeps the node alive: a node not heard
// from for three heartbeats is forgotten. A new node says hello and every
// peer answers with a snapshot. All of a node's presence messages go out
// on one subject, in order, from one goroutine (run), so that a snapshot
// and the deltas around it arrive in the order they were made.
type presence struct {
	pmu          sync.Mutex // guards peers and wantSnapshot
	peers        map[uint64]*peer
	wantSnapshot bool

	omu    sync.Mutex // guards seq and outbox
	seq    uint64     // deltas announced so far
	outbox [][]byte   // presence messages for run to publish, in order

	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// maxOutbox bounds what waits for a broker that is down; past it the
// queue is dropped, and the peers, seeing the gap, ask for a snapshot.
const maxOutbox = 4096

// snapshotPart is the size a snapshot is cut at: brokers cap a message
// (NATS at 1 MiB by default).
const snapshotPart = 32 << 10

// peer is another node, as this one knows it.
type peer struct {
	name  string
	seq   uint64 // the last delta applied
	stale bool   // a delta is missing: wait for a snapshot
	seen  time.Time
	asked time.Time // when a snapshot was last asked for
	peerState

	stage     *peerState // a snapshot being received
	stageSeq  uint64
	stagePart uint64
}

// peerState is a node's users and rooms.
type peerState struct {
	users map[string]*remoteUser
	rooms map[string]map[string]struct{} // room → users
}

type remoteUser struct {
	since int64
	rooms map[string]struct{}
}

func newPeerState() peerState {
	return peerState{users: make(map[string]*remoteUser), rooms: make(map[string]map[string]struct{})}
}

func (s *peerState) online(user string, since int64) {
	s.offline(user)
	s.users[user] = &remoteUser{since: since, rooms: make(map[string]struct{})}
}

func (s *peerState) offline(user string) {
	u := s.users[user]
	if u == nil {
		return
	}
	for r := range u.rooms {
		s.leave(user, r)
	}
	delete(s.users, user)
}

func (s *peerState) join(user, room string) {
	u := s.users[user]
	if u == nil {
		return
	}
	u.rooms[room] = struct{}{}
	if s.rooms[room] == nil {
		s.rooms[room] = make(map[string]struct{})
	}
	s.rooms[room][user] = struct{}{}
}

func (s *peerState) leave(user, room string) {
	if u := s.users[user]; u != nil {
		delete(u.rooms, room)
	}
	delete(s.rooms[room], user)
	if len(s.rooms[room]) == 0 {
		delete(s.rooms, room)
	}
}

func (p *presence) init() {
	p.peers = make(map[uint64]*peer)
	p.wake = make(chan struct{}, 1)
	p.done = make(chan struct{})
}

// start says hello and starts the goroutine that publishes presence.
func (h *Hub) start() {
	h.omu.Lock()
	h.queue((&wireMsg{kind: kindHello, origin: h.id, seq: h.seq, name: h.name}).encode(nil))
	h.omu.Unlock()
	h.wg.Go(h.run)
}

// stop ends run, sends what it left and says goodbye.
func (h *Hub) stop() {
	close(h.done)
	h.wg.Wait()
	h.flush()
	h.broker.Publish(h.presenceSubject(), (&wireMsg{kind: kindBye, origin: h.id}).encode(nil))
}

func (h *Hub) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// queue adds an encoded presence message to the outbox; the caller holds omu.
func (h *Hub) queue(b []byte) {
	if len(h.outbox) >= maxOutbox {
		clear(h.outbox)
		h.outbox = h.outbox[:0]
	}
	h.outbox = append(h.outbox, b)
}

// announce numbers a change of this node's membership and queues it; the
// caller holds ctl, so changes go out in the order they were made.
func (h *Hub) announce(m wireMsg) {
	h.omu.Lock()
	h.seq++
	m.kind, m.origin, m.seq = kindDelta, h.id, h.seq
	h.queue(m.encode(nil))
	h.omu.Unlock()
	h.signal()
}

// run publishes presence: queued messages as soon as they are queued, a
// heartbeat every h.beat, snapshots when asked; and forgets silent peers.
func (h *Hub) run() {
	tick := time.NewTicker(h.beat / 2)
	defer tick.Stop()
	for odd := false; ; odd = !odd {
		select {
		case <-h.done:
			return
		case <-h.wake:
		case now := <-tick.C:
			if odd {
				h.omu.Lock()
				h.queue((&wireMsg{kind: kindBeat, origin: h.id, seq: h.seq, name: h.name}).encode(nil))
				h.omu.Unlock()
			}
			h.expire(now)
		}
		h.pmu.Lock()
		want := h.wantSnapshot
		h.wantSnapshot = false
		h.pmu.Unlock()
		if want {
			h.snapshot()
		}
		h.flush()
	}
}

// flush publishes the outbox in order. When the broker refuses one, the
// rest is dropped: peers find the gap and ask for a snapshot.
func (h *Hub) flush() {
	h.omu.Lock()
	batch := h.outbox
	h.outbox = nil
	h.omu.Unlock()
	subject := h.presenceSubject()
	for _, b := range batch {
		if h.broker.Publish(subject, b) != nil {
			return
		}
	}
}

// snapshot queues the node's whole presence, in parts, numbered with the
// last delta it includes.
func (h *Hub) snapshot() {
	h.ctl.Lock() // no change half made
	defer h.ctl.Unlock()
	h.mu.RLock()
	if h.closed {
		h.mu.RUnlock()
		return
	}
	var parts [][]snapUser
	var part []snapUser
	size := 0
	for name, m := range h.users {
		u := snapUser{name: name, since: m.since}
		size += len(name) + 16
		for r := range m.rooms {
			u.rooms = append(u.rooms, r)
			size += len(r) + 4
		}
		part = append(part, u)
		if size >= snapshotPart {
			parts, part, size = append(parts, part), nil, 0
		}
	}
	h.mu.RUnlock()
	if len(part) > 0 || len(parts) == 0 {
		parts = append(parts, part)
	}
	h.omu.Lock()
	for i, users := range parts {
		m := wireMsg{kind: kindSnapshot, origin: h.id, seq: h.seq, part: uint64(i), parts: uint64(len(parts)), name: h.name, users: users}
		h.queue(m.encode(nil))
	}
	h.omu.Unlock()
}

// expire forgets the peers not heard from for three heartbeats, and asks
// again for the snapshots that have not come.
func (h *Hub) expire(now time.Time) {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	for id, p := range h.peers {
		switch {
		case now.Sub(p.seen) > 3*h.beat:
			delete(h.peers, id)
		case p.stale:
			h.ask(id, p, now)
		}
	}
}

// ask asks peer id for a snapshot, once per heartbeat at most; the caller
// holds pmu.
func (h *Hub) ask(id uint64, p *peer, now time.Time) {
	if now.Sub(p.asked) < h.beat {
		return
	}
	p.asked = now
	h.omu.Lock()
	h.queue((&wireMsg{kind: kindSync, origin: h.id, target: id}).encode(nil))
	h.omu.Unlock()
	h.signal()
}

// onPresence handles a message of the presence subject.
func (h *Hub) onPresence(b []byte) {
	m, err := decodeWire(b)
	if err != nil || m.origin == h.id {
		return
	}
	now := time.Now()
	h.pmu.Lock()
	defer h.pmu.Unlock()
	switch m.kind {
	case kindBye:
		delete(h.peers, m.origin)
		return
	case kindSync:
		if m.target == h.id {
			h.wantSnapshot = true
			h.signal()
		}
		return
	}
	p := h.peers[m.origin]
	if p == nil {
		p = &peer{stale: true, peerState: newPeerState()}
		h.peers[m.origin] = p
	}
	p.seen = now
	switch m.kind {
	case kindHello:
		p.name = m.name
		if p.stale && m.seq == 0 { // a node with nobody yet
			p.stale, p.seq = false, 0
		}
		h.wantSnapshot = true // it knows nothing of this node
		h.signal()
	case kindBeat:
		p.name = m.name
		if m.seq != p.seq {
			p.stale = true
		}
	case kindDelta:
		switch {
		case p.stale || m.seq <= p.seq:
		case m.seq == p.seq+1:
			p.seq = m.seq
			h.apply(m.origin, p, m)
		default:
			p.stale = true
		}
	case kindSnapshot:
		p.name = m.name
		h.stageSnapshot(m.origin, p, m)
	}
	if p.stale {
		h.ask(m.origin, p, now)
	}
}

// apply applies a delta from peer id; the caller holds pmu.
func (h *Hub) apply(id uint64, p *peer, m wireMsg) {
	switch m.delta {
	case deltaOnline:
		p.online(m.user, m.since)
		h.resolve(m.user, m.since, id)
	case deltaOffline:
		p.offline(m.user)
	case deltaJoin:
		p.join(m.user, m.room)
	case deltaLeave:
		p.leave(m.user, m.room)
	}
}

// stageSnapshot adds a part of a snapshot; the last part replaces what
// this node knew of the peer, unless deltas already brought it further.
func (h *Hub) stageSnapshot(id uint64, p *peer, m wireMsg) {
	if m.part == 0 {
		s := newPeerState()
		p.stage, p.stageSeq, p.stagePart = &s, m.seq, 0
	}
	if p.stage == nil || p.stageSeq != m.seq || p.stagePart != m.part {
		p.stage = nil // a part went missing
		return
	}
	for _, u := range m.users {
		p.stage.online(u.name, u.since)
		for _, r := range u.rooms {
			p.stage.join(u.name, r)
		}
	}
	p.stagePart++
	if p.stagePart < m.parts {
		return
	}
	if p.stale || m.seq > p.seq {
		p.peerState, p.seq, p.stale = *p.stage, m.seq, false
		for name, u := range p.users {
			h.resolve(name, u.since, id)
		}
	}
	p.stage = nil
}

// newer reports whether a connection made at since on node id is newer
// than one made at since2 on node id2; the node ID breaks ties, so that
// every node comes to the same answer.
func newer(since int64, id uint64, since2 int64, id2 uint64) bool {
	return since > since2 || since == since2 && id > id2
}

// resolve closes this node's connection of user if peer id has a newer
// one: a name belongs to its newest connection.
func (h *Hub) resolve(user string, since int64, id uint64) {
	h.mu.RLock()
	m := h.users[user]
	h.mu.RUnlock()
	if m != nil && newer(since, id, m.since, h.id) && m.replaced.CompareAndSwap(false, true) {
		connhook.CloseAsync(m.c, uint16(gws.ClosePolicyViolation), []byte(closeReason))
	}
}

// newestSince returns when user's newest connection on another node was
// made, or 0.
func (h *Hub) newestSince(user string) int64 {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	var since int64
	for _, p := range h.peers {
		if u := p.users[user]; u != nil {
			since = max(since, u.since)
		}
	}
	return since
}

// find returns where user's newest connection is: on this node (m), or on
// peer id named node.
func (h *Hub) find(user string) (m *member, id uint64, node string, ok bool) {
	h.mu.RLock()
	m = h.users[user]
	h.mu.RUnlock()
	var since int64
	if m != nil {
		since, id, node, ok = m.since, h.id, h.name, true
	}
	h.pmu.Lock()
	defer h.pmu.Unlock()
	for pid, p := range h.peers {
		if u := p.users[user]; u != nil && (!ok || newer(u.since, pid, since, id)) {
			m, since, id, node, ok = nil, u.since, pid, p.name, true
		}
	}
	return m, id, node, ok
}

// Locate returns the name of the node (Options.Node) that holds user's
// newest connection, as far as this node knows: a connection made on
// another node is known once that node's announcement has arrived.
func (h *Hub) Locate(user string) (node string, ok bool) {
	_, _, node, ok = h.find(user)
	return node, ok
}

// Members returns the names of room's members on every node, sorted; the
// room "" is everyone's. What it knows of other nodes is as recent as
// their announcements.
func (h *Hub) Members(room string) []string {
	h.mu.RLock()
	r := h.everyone
	if room != "" {
		r = h.rooms[room]
	}
	h.mu.RUnlock()
	var names []string
	if r != nil {
		names = r.names(names)
	}
	h.pmu.Lock()
	for _, p := range h.peers {
		if room == "" {
			for u := range p.users {
				names = append(names, u)
			}
			continue
		}
		for u := range p.rooms[room] {
			names = append(names, u)
		}
	}
	h.pmu.Unlock()
	slices.Sort(names)
	return slices.Compact(names)
}
