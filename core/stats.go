package gws

import (
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Stats are counters of an Upgrader's connections, for metrics: every
// count but Conns only grows. The maps hold every key they document, zeros
// included, so a metrics module exports a fixed set of label values.
type Stats struct {
	// Conns is the number of live connections.
	Conns int

	// Opened counts the connections opened: handshakes answered with 101.
	Opened int64

	// Refused counts the handshakes gws refused, by reason: "bad_request"
	// (400: not a WebSocket handshake, or a bad key or HTTP version),
	// "origin" (403: CheckOrigin said no), "method" (405), "version" (426:
	// Sec-WebSocket-Version is not 13), "shutting_down" (503) and
	// "internal" (500: the ResponseWriter could not hand its connection
	// over, or a bad ResponseHeader). Requests the application answers
	// before calling Upgrade are not gws's to count.
	Refused map[string]int64

	// MessagesReceived counts the text and binary messages the read loop
	// handed to the middleware and OnMessage, and BytesReceived their
	// payload bytes (decompressed); control frames are not counted.
	MessagesReceived, BytesReceived int64

	// MessagesSent counts the text and binary messages written to the
	// network, by Write, WriteAsync and Broadcast, and BytesSent their
	// payload bytes before compression; messages dropped or never written
	// are not counted, nor are control frames.
	MessagesSent, BytesSent int64

	// Closed counts the connections that ended, by the class of the close
	// code OnClose got: "normal" (1000, or 1005: a close frame without a
	// code, which browsers send for close()), "going_away" (1001),
	// "protocol_error" (1002 and 1007), "policy_violation" (1008),
	// "message_too_big" (1009), "abnormal" (1006: no close frame) and
	// "other" (any other code).
	Closed map[string]int64

	// ClosedBy counts the same ends by what began them: "peer_close" (the
	// peer's close frame), "local_close" (the application: WriteClose or
	// Close), "shutdown" (Upgrader.Shutdown, or the context given to
	// Upgrade being done), "protocol_error" (the peer broke RFC 6455 and
	// gws failed the connection), "io_error" (TCP ended or failed without
	// a closing handshake), "heartbeat_timeout" (no answer to the
	// heartbeat's ping), "write_timeout" (a frame not written within
	// WriteTimeout), "slow_consumer" (SlowClose) and "memory_budget"
	// (closed with 1013 for want of room in ServerOptions.MemoryBudget).
	ClosedBy map[string]int64

	// Dropped counts the messages WriteAsync and Broadcast dropped under
	// SlowDrop, or after SlowBlockTimeout under SlowBlock.
	Dropped int64
	// ClosedSlow counts connections closed under SlowClose.
	ClosedSlow int64
}

// Stats returns the current counters. It walks the live connections to
// add up their traffic, holding the lock that new and ending connections
// take, for 10 to 20 ns per connection (BenchmarkStats): it suits a
// scrape every few seconds, not a call per message.
func (u *Upgrader) Stats() Stats {
	g := u.group()
	s := Stats{
		Opened:     g.opened.Load(),
		Refused:    make(map[string]int64, len(refusals)),
		Closed:     make(map[string]int64, len(closeClasses)),
		ClosedBy:   make(map[string]int64, numCauses-1),
		Dropped:    g.dropped.Load(),
		ClosedSlow: g.slowShut.Load(),
	}
	g.mu.Lock()
	s.Conns = len(g.live)
	t := g.ended
	for c := range g.live {
		t.add(&c.traffic)
	}
	g.mu.Unlock()
	s.MessagesReceived, s.BytesReceived = t.inMsgs, t.inBytes
	s.MessagesSent, s.BytesSent = t.outMsgs, t.outBytes
	for i, r := range refusals {
		s.Refused[r.name] = g.refused[i].Load()
	}
	for i, name := range closeClasses {
		s.Closed[name] = g.closed[i].Load()
	}
	for k := causePeer; k < numCauses; k++ {
		s.ClosedBy[causeNames[k]] = g.closedBy[k].Load()
	}
	return s
}

// traffic counts a connection's messages. Each counter has one writer at
// a time (the read loop, or the holder of the write lock) and is atomic
// only because Stats reads it meanwhile: no two connections share them, so
// the adds cost no contention on the message path.
type traffic struct {
	inMsgs, inBytes, outMsgs, outBytes atomic.Int64
}

// trafficSum adds up the traffic of many connections.
type trafficSum struct {
	inMsgs, inBytes, outMsgs, outBytes int64
}

// add reads what went out before what came in, so that the replies of a
// request-reply protocol never outnumber the requests in a snapshot.
func (s *trafficSum) add(t *traffic) {
	s.outMsgs += t.outMsgs.Load()
	s.outBytes += t.outBytes.Load()
	s.inMsgs += t.inMsgs.Load()
	s.inBytes += t.inBytes.Load()
}

// countIn counts a message handed to the handler.
func (c *Conn) countIn(n int) {
	c.traffic.inMsgs.Add(1)
	c.traffic.inBytes.Add(int64(n))
}

// countOut counts a frame written, when it is a text or binary message of
// n payload bytes.
func (c *Conn) countOut(op Opcode, n int) {
	if op == OpcodeText || op == OpcodeBinary {
		c.traffic.outMsgs.Add(1)
		c.traffic.outBytes.Add(int64(n))
	}
}

// counters are a group's figures for Stats apart from the live set's;
// ended, the traffic of the connections that have left it, is guarded by
// group.mu.
type counters struct {
	opened   atomic.Int64
	refused  [len(refusals)]atomic.Int64
	closed   [len(closeClasses)]atomic.Int64
	closedBy [numCauses]atomic.Int64
	ended    trafficSum

	// observe is Upgrader.ObserveHandler, read once.
	observe func(*Conn, time.Duration)
}

// refusals are the reasons Stats.Refused counts, by the status a refused
// handshake is answered with.
var refusals = [...]struct {
	status int
	name   string
}{
	{http.StatusBadRequest, "bad_request"},
	{http.StatusForbidden, "origin"},
	{http.StatusMethodNotAllowed, "method"},
	{http.StatusUpgradeRequired, "version"},
	{http.StatusServiceUnavailable, "shutting_down"},
	{http.StatusInternalServerError, "internal"},
}

// refuse counts a refused handshake.
func (g *group) refuse(status int) {
	for i := range refusals {
		if refusals[i].status == status {
			g.refused[i].Add(1)
			return
		}
	}
}

// closeClasses are the keys of Stats.Closed, in closeClass's order.
var closeClasses = [...]string{"normal", "going_away", "protocol_error", "policy_violation", "message_too_big", "abnormal", "other"}

// closeClass returns code's index in closeClasses.
func closeClass(code Code) int {
	switch code {
	case CloseNormal, CloseNoStatus:
		return 0
	case CloseGoingAway:
		return 1
	case CloseProtocolError, CloseInvalidPayload:
		return 2
	case ClosePolicyViolation:
		return 3
	case CloseMessageTooBig:
		return 4
	case CloseAbnormal:
		return 5
	}
	return 6
}

// cause is what began the end of a connection, for Stats.ClosedBy.
type cause uint32

const (
	causeUnknown cause = iota // not yet known: Conn.closer before anyone closed
	causePeer
	causeLocal
	causeShutdown
	causeProtocol
	causeIO
	causeHeartbeat
	causeWriteTimeout
	causeSlow
	causeBudget
	numCauses
)

var causeNames = [numCauses]string{"", "peer_close", "local_close", "shutdown", "protocol_error", "io_error", "heartbeat_timeout", "write_timeout", "slow_consumer", "memory_budget"}

// closedBy records who started to close the connection, if nobody did
// before: the application (causeLocal) or a shutdown.
func (c *Conn) closedBy(k cause) {
	c.closer.CompareAndSwap(uint32(causeUnknown), uint32(k))
}

// endCause tells what began the end of a connection whose read loop
// stopped with err; ce, le and werr are as finish found them.
func (c *Conn) endCause(err error, ce, le *CloseError, werr error) cause {
	switch {
	case le != nil && le.Err == errHeartbeatTimeout:
		return causeHeartbeat
	case le != nil:
		return causeSlow
	case ce != nil && ce.Err == errBudget:
		return causeBudget
	case ce != nil:
		return causeProtocol
	}
	if k := cause(c.closer.Load()); k != causeUnknown {
		return k
	}
	switch {
	case errors.Is(err, errPeerClosed):
		return causePeer
	case werr != nil && errors.Is(werr, os.ErrDeadlineExceeded):
		return causeWriteTimeout
	}
	return causeIO
}

// countEnd counts a connection that ended with code, for cause k.
func (g *group) countEnd(code Code, k cause) {
	g.closed[closeClass(code)].Add(1)
	g.closedBy[k].Add(1)
}

// observeHandler runs m through the chain as handle does, and tells the
// Upgrader's ObserveHandler how long it took.
func (c *Conn) observeHandler(m *Message) {
	start := time.Now()
	c.handle(m)
	c.g.observe(c, time.Since(start))
}
