package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest/leak"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// TestSeedProgram builds the seed README's quick start, main.go here, which
// is the seed's text with only its import line changed, and runs its chat
// room: two users connect with ?name=, one's {"to", "message"} reaches the
// other byte for byte, and a request without a name is refused. The
// program listens on ":3000"; the copy built here listens on a loopback
// port this test picked instead, the only byte changed.
func TestSeedProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	if strings.Count(string(src), `":3000"`) != 1 {
		t.Fatal(`main.go should listen on ":3000" exactly once, as the seed does`)
	}
	src = []byte(strings.Replace(string(src), `":3000"`, `"`+addr+`"`, 1))
	bin := buildSeed(t, src)

	cmd := exec.Command(bin)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The seed's OnOpen watches Context.Done in an endless for, which spins
	// once a connection has ended (DESIGN.md notes it): the program is
	// stopped before the clients close (cleanups run last first).
	stop := sync.OnceFunc(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	t.Cleanup(stop)
	waitListening(t, addr)

	url := "ws://" + addr + "/ws"
	var refused *gws.HandshakeError
	if _, _, err := gws.Dial(context.Background(), url, gws.NopHandler{}, nil); !errors.As(err, &refused) || refused.StatusCode != 403 {
		t.Fatalf("without a name: %v, want 403", err)
	}
	lancer := &inbox{got: make(chan []byte, 1)}
	caster := &inbox{got: make(chan []byte, 1)}
	for name, h := range map[string]*inbox{"lancer": lancer, "caster": caster} {
		c, _, err := gws.Dial(context.Background(), url+"?name="+name, h, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.conn = c
		t.Cleanup(func() { c.Close(); <-c.Context.Done() })
	}
	t.Cleanup(stop)
	msg := `{"to": "lancer", "message": "Hello! I am caster"}`
	deadline := time.After(10 * time.Second)
	for {
		// OnOpen may not have stored lancer yet when caster writes: the
		// seed drops messages to unknown names, so try until one arrives.
		if err := caster.conn.WriteString(msg); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-lancer.got:
			if string(got) != msg {
				t.Fatalf("lancer got %q, want %q", got, msg)
			}
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("lancer got nothing")
		}
	}
}

// inbox keeps the first message a client receives.
type inbox struct {
	gws.NopHandler
	conn *gws.Conn
	got  chan []byte
}

func (b *inbox) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	select {
	case b.got <- append([]byte(nil), m.Bytes()...):
	default:
	}
}

// buildSeed builds src as a module of its own outside the repository, with
// core from this checkout, and returns the binary.
func buildSeed(t *testing.T, src []byte) string {
	t.Helper()
	core, err := filepath.Abs("../../core")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module seed\n\ngo 1.26\n\nrequire github.com/gwsgo/gws/core v0.0.0\n\nreplace github.com/gwsgo/gws/core => " + core + "\n"
	for name, b := range map[string][]byte{"go.mod": []byte(gomod), "main.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "seed")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	// core needs nothing from the network: the build must not look there.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the seed's program: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address with a port the kernel just handed
// out, for a program that opens its listener itself.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("the seed's program is not listening on %s", addr)
}
