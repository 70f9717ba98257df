package loadgen

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// failures counts errors from many goroutines and keeps the first.
type failures struct {
	n     atomic.Int64
	mu    sync.Mutex
	first error
}

func (f *failures) add(err error) {
	if f.n.Add(1) == 1 {
		f.mu.Lock()
		f.first = err
		f.mu.Unlock()
	}
}

func (f *failures) fill(r *Result) {
	r.Errors = f.n.Load()
	f.mu.Lock()
	if f.first != nil {
		r.FirstError = f.first.Error()
	}
	f.mu.Unlock()
}

func runEcho(cfg Config) (Result, error) {
	c := newClient(cfg)
	r, conns, err := c.connect(c.echoOnce)
	if err != nil {
		return r, err
	}
	r.ReplyBytes = c.replyBytes.Load()
	p, err := newEpollPump(c, conns)
	if err != nil {
		return r, err
	}
	p.start(p.loop)
	from := time.Now().Add(cfg.Warmup)
	err = measure(cfg, &p.count, &r)
	to := time.Now()
	p.halt()
	p.fails.fill(&r)
	r.LatencyP50, r.LatencyP99 = percentiles(p.latencies, from, to)
	return r, err
}

// connect opens cfg.Conns connections, each set up by setup, and notes the
// server's memory before and the time it took.
func (c *client) connect(setup func(net.Conn, []byte) error) (Result, []net.Conn, error) {
	var r Result
	if c.cfg.ServerPID > 0 {
		// Before any connection, so RSS per connection can leave out what
		// the process holds anyway.
		rss, err := ProcRSS(c.cfg.ServerPID)
		if err != nil {
			return r, nil, err
		}
		r.BaseRSS = rss
	}
	t0 := time.Now()
	conns, err := c.dialAll(c.cfg.Conns, setup)
	r.SetupSecs = time.Since(t0).Seconds()
	return r, conns, err
}

// measure lets the load run for the warm-up, then counts what count
// advances by in the measured window and samples the processes at its
// edges.
func measure(cfg Config, count *atomic.Int64, r *Result) error {
	time.Sleep(cfg.Warmup)
	w, err := startWindow(cfg)
	if err != nil {
		return err
	}
	n0 := count.Load()
	time.Sleep(cfg.Duration)
	n1 := count.Load()
	err = w.end(r)
	r.Ops = n1 - n0
	return err
}

func runConnRate(cfg Config) (Result, error) {
	var r Result
	ch, err := newChurn(newClient(cfg))
	if err != nil {
		return r, err
	}
	ch.start()
	err = measure(cfg, &ch.count, &r)
	ch.halt()
	ch.fails.fill(&r)
	return r, err
}

func runIdle(cfg Config) (Result, error) {
	c := newClient(cfg)
	var r Result
	if cfg.ServerPID <= 0 {
		return r, errors.New("idle mode needs the server's pid")
	}
	// A few connections first, so that what a server builds once (pools,
	// tables, the first goroutines' stacks) is in the baseline and the delta
	// is what each connection costs.
	warm, err := c.dialAll(min(100, cfg.Conns), c.echoOnce)
	if err != nil {
		return r, err
	}
	for _, conn := range warm {
		closeConn(conn)
	}
	time.Sleep(cfg.Settle)
	if r.BaseRSS, err = ProcRSS(cfg.ServerPID); err != nil {
		return r, err
	}
	w, err := startWindow(cfg)
	if err != nil {
		return r, err
	}
	conns, err := c.dialAll(cfg.Conns, c.echoOnce)
	if err != nil {
		return r, err
	}
	defer func() {
		for _, conn := range conns {
			closeConn(conn)
		}
	}()
	r.SetupSecs = time.Since(w.t0).Seconds()
	time.Sleep(cfg.Settle)
	err = w.end(&r)
	r.Ops = int64(len(conns))
	return r, err
}
