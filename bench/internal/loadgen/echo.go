package loadgen

import (
	"errors"
	"fmt"
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
	var r Result
	t0 := time.Now()
	conns, err := c.dialAll(cfg.Conns, c.echoOnce)
	if err != nil {
		return r, err
	}
	r.SetupSecs = time.Since(t0).Seconds()

	p, err := newEpollPump(c, conns)
	if err != nil {
		return r, err
	}
	p.start()
	time.Sleep(cfg.Warmup)
	w, err := startWindow(cfg.ServerPID)
	n0 := p.count.Load()
	if err == nil {
		time.Sleep(cfg.Duration)
		n1 := p.count.Load()
		err = w.end(&r)
		r.Ops = n1 - n0
	}
	p.halt()
	p.fails.fill(&r)
	return r, err
}

func runConnRate(cfg Config) (Result, error) {
	c := newClient(cfg)
	var r Result
	var stop atomic.Bool
	var count atomic.Int64
	var fails failures
	var wg sync.WaitGroup
	for range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := c.cycle(); err != nil {
					if !stop.Load() {
						fails.add(err)
					}
					// A refusing server must not turn the loop into a
					// spin that starves the ones still working.
					time.Sleep(10 * time.Millisecond)
					continue
				}
				count.Add(1)
			}
		}()
	}
	time.Sleep(cfg.Warmup)
	w, err := startWindow(cfg.ServerPID)
	n0 := count.Load()
	if err == nil {
		time.Sleep(cfg.Duration)
		n1 := count.Load()
		err = w.end(&r)
		r.Ops = n1 - n0
	}
	stop.Store(true)
	wg.Wait()
	fails.fill(&r)
	return r, err
}

// cycle is one connection's whole life: connect, opening handshake, closing
// handshake (the client's close frame, the server's reply), and close.
func (c *client) cycle() error {
	conn, err := net.DialTimeout("tcp", c.cfg.Addr, ioTimeout)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	rest, err := c.handshake(conn)
	if err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := conn.Write(c.closeF); err != nil {
		return err
	}
	want := len(c.closeF) // the TCP echo sends the frame back as it is
	var buf [64]byte
	n := copy(buf[:], rest)
	for {
		if c.cfg.WebSocket && n >= 2 {
			if buf[0]&0x0f != opClose {
				return fmt.Errorf("reply to close has opcode %#x", buf[0]&0x0f)
			}
			want = serverHeaderLen(buf[:n]) + int(buf[1]&0x7f)
		}
		if n >= want {
			return nil
		}
		m, err := conn.Read(buf[n:])
		n += m
		if err != nil && n < want {
			return errors.Join(errors.New("no reply to close"), err)
		}
	}
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
	w, err := startWindow(cfg.ServerPID)
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
