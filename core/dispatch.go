package gws

// dispatch runs msg through the middleware chain and the handler: on the
// calling goroutine, the read loop's, or through the parallel queue with
// ParallelEnabled. A message the handler closed is recycled; one it kept
// may still be in use elsewhere, so it is left to the garbage collector.
func (c *Conn) dispatch(op Opcode, buf *[]byte) {
	c.countIn(len(*buf))
	m := messagePool.Get().(*Message)
	// Set field by field: a composite literal is built on the stack first.
	m.Opcode, m.buf, m.chain, m.next, m.handler, m.closed = op, buf, c.g.middlewares, 0, c.handler, false
	// What the message holds of a memory budget goes with it.
	r := c.r
	m.held, r.held, r.seq = r.held, 0, 0
	if c.pq != nil {
		c.pq.push(c, m)
		return
	}
	if r.rpos < r.rend || c.inq && !c.drained {
		c.handleBacklogged(m)
		return
	}
	if c.g.observe != nil {
		c.observeHandler(m)
		return
	}
	c.handle(m)
}

// handleBacklogged is handle for a message with more from the peer already
// read or waiting in the socket: while it runs, the group counts a
// backlog, which tells broadcasts to coalesce.
func (c *Conn) handleBacklogged(m *Message) {
	c.g.backlog.Add(1)
	defer c.g.backlog.Add(-1)
	if c.g.observe != nil {
		c.observeHandler(m)
		return
	}
	c.handle(m)
}

// deliver is handle, timed when the Upgrader has an ObserveHandler.
// dispatch and handleBacklogged make the same choice themselves, which
// keeps the read loop's path one frame shorter (see writeOut).
func (c *Conn) deliver(m *Message) {
	if c.g.observe != nil {
		c.observeHandler(m)
		return
	}
	c.handle(m)
}

// handle runs m through the chain on the calling goroutine, straight to
// OnMessage when there is no middleware (one stack frame fewer on the
// read loop's path, see writeOut).
func (c *Conn) handle(m *Message) {
	held := m.held
	if len(m.chain) == 0 {
		h := m.handler
		m.handler = nil
		h.OnMessage(c, m)
	} else {
		m.Next(c)
	}
	if held > 0 {
		c.g.budget.release(held)
	}
	if m.closed {
		*m = Message{}
		messagePool.Put(m)
	}
}
