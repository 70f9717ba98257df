// Command autobahn-client is gws's client as the testee of an Autobahn
// fuzzing server: Autobahn|Testsuite's own (wstest -m fuzzingserver) or
// the project's fuzzserver.Server. It asks the server how many cases
// there are, runs each one, echoing every message back, and asks the
// server to update its reports.
//
//	go run ./examples/autobahn-client -url ws://127.0.0.1:9001 -agent gws
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	gws "github.com/gwsgo/gws/core"
)

func main() {
	base := flag.String("url", "ws://127.0.0.1:9001", "the fuzzing server's URL")
	agent := flag.String("agent", "gws", "the name the reports file this client's results under")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *base, *agent, os.Stderr); err != nil {
		log.Fatal(err)
	}
}

// options are those of a client under Autobahn's test: messages of up to
// 16 MiB (section 9) and permessage-deflate (sections 12 and 13).
var options = &gws.ClientOptions{
	ReadMaxPayloadSize: 64 << 20,
	CompressEnabled:    true,
}

// run runs every case of the fuzzing server at base as agent, logging
// progress to log. A case that cannot even connect is logged and skipped:
// the server's report tells how it went.
func run(ctx context.Context, base, agent string, log io.Writer) error {
	count, err := caseCount(ctx, base)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "%d cases\n", count)
	for n := 1; n <= count; n++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		u := fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, n, url.QueryEscape(agent))
		c, _, err := gws.Dial(ctx, u, echo{}, options)
		if err != nil {
			fmt.Fprintf(log, "case %d: %v\n", n, err)
			continue
		}
		<-c.Context.Done()
	}
	c, _, err := gws.Dial(ctx, base+"/updateReports?agent="+url.QueryEscape(agent), echo{}, nil)
	if err != nil {
		return fmt.Errorf("updating reports: %w", err)
	}
	<-c.Context.Done()
	fmt.Fprintln(log, "reports updated")
	return nil
}

// caseCount asks the server for the number of cases, which it sends as one
// text message.
func caseCount(ctx context.Context, base string) (int, error) {
	got := &firstMessage{}
	c, _, err := gws.Dial(ctx, base+"/getCaseCount", got, nil)
	if err != nil {
		return 0, fmt.Errorf("getting the case count: %w", err)
	}
	<-c.Context.Done()
	n, err := strconv.Atoi(got.text)
	if err != nil {
		return 0, fmt.Errorf("getting the case count: server sent %q", got.text)
	}
	return n, nil
}

// echo sends every text and binary message back unchanged.
type echo struct{}

func (echo) OnOpen(*gws.Conn)                    {}
func (echo) OnClose(*gws.Conn, gws.Code, []byte) {}
func (echo) OnError(*gws.Conn, error)            {}
func (echo) OnPing(*gws.Conn, []byte)            {}
func (echo) OnPong(*gws.Conn, []byte)            {}

func (echo) OnMessage(c *gws.Conn, m *gws.Message) {
	c.Write(m.Opcode, m.Bytes())
	m.Close()
}

// firstMessage keeps the first message's text.
type firstMessage struct {
	echo
	text string
}

func (f *firstMessage) OnMessage(_ *gws.Conn, m *gws.Message) {
	if f.text == "" {
		f.text = string(m.Bytes())
	}
	m.Close()
}
