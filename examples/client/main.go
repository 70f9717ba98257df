// Command client is a command-line WebSocket client: it connects to a URL,
// sends each line of standard input as a text message and prints every
// message it receives. At the end of input it closes the connection
// normally; Ctrl-C closes it with 1001 (going away).
//
//	go run ./examples/client -url 'ws://127.0.0.1:3000/ws?name=bob'
//
// Against examples/chat, type {"to": "", "message": "hello"} to speak to
// everyone, or put a user's name in "to".
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"

	gws "github.com/gwsgo/gws/core"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:3000/ws", "WebSocket URL to connect to (ws:// or wss://)")
	origin := flag.String("origin", "", "Origin header to send, for servers that check it")
	compress := flag.Bool("compress", false, "offer permessage-deflate")
	flag.Parse()

	opts := &gws.ClientOptions{CompressEnabled: *compress}
	if *origin != "" {
		opts.Header = http.Header{"Origin": {*origin}}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *url, opts, os.Stdin, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run connects to url, sends each line of in as a text message and writes
// every message received to out, one per line, until in ends (then it
// closes normally and waits for the server's answer), the server closes
// the connection, or ctx ends (then it closes with 1001).
func run(ctx context.Context, url string, opts *gws.ClientOptions, in io.Reader, out io.Writer) error {
	p := &printer{out: out, done: make(chan struct{})}
	c, _, err := gws.Dial(ctx, url, p, opts)
	if err != nil {
		return err
	}

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-p.done:
				return
			}
		}
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				c.WriteClose(gws.CloseNormal, nil)
				<-p.done
				return p.result()
			}
			if err := c.WriteString(line); err != nil {
				<-p.done
				return p.result()
			}
		case <-p.done:
			return p.result()
		case <-ctx.Done():
			c.WriteClose(gws.CloseGoingAway, nil)
			<-p.done
			return nil
		}
	}
}

// printer is the client's EventHandler: it prints messages and remembers
// how the connection ended.
type printer struct {
	out  io.Writer
	done chan struct{} // closed by OnClose

	mu     sync.Mutex
	err    error
	code   gws.Code
	reason string
}

func (p *printer) OnOpen(*gws.Conn)               {}
func (p *printer) OnPing(*gws.Conn, []byte)       {}
func (p *printer) OnPong(*gws.Conn, []byte)       {}
func (p *printer) OnError(_ *gws.Conn, err error) { p.setErr(err) }

func (p *printer) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if m.Opcode == gws.OpcodeBinary {
		fmt.Fprintf(p.out, "[binary, %d bytes] %x\n", len(m.Bytes()), m.Bytes())
		return
	}
	fmt.Fprintf(p.out, "%s\n", m.Bytes())
}

func (p *printer) OnClose(_ *gws.Conn, code gws.Code, reason []byte) {
	p.mu.Lock()
	p.code, p.reason = code, string(reason)
	p.mu.Unlock()
	close(p.done)
}

func (p *printer) setErr(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// result says how the connection ended: nil for a normal close, and an
// error that carries the close code otherwise.
func (p *printer) result() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.err != nil:
		return p.err
	case p.code == gws.CloseNormal || p.code == gws.CloseNoStatus:
		return nil
	}
	return fmt.Errorf("server closed the connection: %d %q", p.code, p.reason)
}
