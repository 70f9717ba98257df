package brokertest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	gwsnats "github.com/gwsgo/gws/brokers/nats"
	gwsredis "github.com/gwsgo/gws/brokers/redis"
	"github.com/gwsgo/gws/core/rooms"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

// broker is a broker server the test runs, and can stop and start again
// on the same port.
type broker interface {
	URL() string
	Stop(t *testing.T)
	Start(t *testing.T)
}

// brokers are the kinds of broker every scenario runs on.
var brokers = []struct {
	name  string
	start func(t *testing.T) broker
}{
	{"nats", startNATS},
	{"redis", startRedis},
}

// eachBroker runs f as a subtest on a fresh server of each kind.
func eachBroker(t *testing.T, f func(t *testing.T, b broker)) {
	for _, kind := range brokers {
		t.Run(kind.name, func(t *testing.T) { f(t, kind.start(t)) })
	}
}

// dial connects to the broker at url, as a node does at start-up.
func dial(url string) (rooms.Broker, io.Closer, error) {
	if strings.HasPrefix(url, "redis://") {
		b, err := gwsredis.Connect(url)
		return b, b, err
	}
	b, err := gwsnats.Connect(url)
	return b, b, err
}

// natsBroker is nats-server, embedded.
type natsBroker struct {
	port int
	ns   *natsserver.Server
}

func startNATS(t *testing.T) broker {
	b := &natsBroker{port: freePort(t)}
	b.Start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *natsBroker) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", b.port) }

func (b *natsBroker) Start(t *testing.T) {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: b.port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready after 10 s")
	}
	b.ns = ns
}

func (b *natsBroker) Stop(t *testing.T) {
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
		b.ns = nil
	}
}

// redisBroker is Debian's redis-server, run by the test.
type redisBroker struct {
	bin  string
	port int
	cmd  *exec.Cmd
	done chan error
}

func startRedis(t *testing.T) broker {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Redis tests need redis-server (apt-get install redis-server), and CI=true: %v", err)
		}
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING the Redis tests: no redis-server (apt-get install redis-server): %v ***\n\n", err)
		t.Skipf("SKIPPED: no redis-server: %v", err)
	}
	b := &redisBroker{bin: bin, port: freePort(t)}
	b.Start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *redisBroker) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d", b.port) }

func (b *redisBroker) Start(t *testing.T) {
	t.Helper()
	b.cmd = exec.Command(b.bin, "--port", strconv.Itoa(b.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.cmd.Stderr = b.cmd.Stdout
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.done = make(chan error, 1)
	logged := make(chan string, 1)
	go func() {
		var log strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
		}
		logged <- log.String()
	}()
	go func() {
		err := b.cmd.Wait()
		if err == nil {
			err = errors.New("exited")
		}
		b.done <- fmt.Errorf("%w\n%s", err, <-logged)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprint("127.0.0.1:", b.port))
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-b.done:
			t.Fatalf("redis-server: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server not listening after 10 s")
		}
	}
}

func (b *redisBroker) Stop(t *testing.T) {
	if b.cmd != nil {
		b.cmd.Process.Kill()
		<-b.done
		b.cmd = nil
	}
}

// freePort returns a port nothing listens on, as far as the kernel knows
// now: the brokers must come back on the same port, so they cannot bind :0.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
