//go:build unix

package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
)

// CDPTimeout bounds each DevTools command, and PageTimeout each wait for a
// page to show something or for an event to arrive.
const (
	CDPTimeout  = 10 * time.Second
	PageTimeout = 10 * time.Second
)

// FindChromium returns the path of the chromium binary. Without one it
// skips t, saying so on stderr as well so that the skip shows without -v,
// except under CI=true, where it fails t: CI installs chromium, and a
// browser test that skipped there would pass without checking anything.
// what names what goes untested, for the message.
func FindChromium(t testing.TB, what string) string {
	t.Helper()
	browser, err := exec.LookPath("chromium")
	if err == nil {
		return browser
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no chromium on PATH, and CI installs it: %v", err)
	}
	msg := "SKIP SKIP SKIP: chromium is not installed, so " + what +
		" was NOT tested in a browser (apt-get install chromium to run this test)"
	fmt.Fprintf(os.Stderr, "\n*** %s: %s ***\n\n", t.Name(), msg)
	t.Skip(msg)
	return ""
}

// Chromium is a headless Chromium driven through the Chrome DevTools
// Protocol, spoken over gws's own client: JSON commands with ids, answered
// by JSON results with the same ids, and events, which are kept only for
// the tabs and methods a test asks to record (see Tab.Record).
type Chromium struct {
	conn *gws.Conn
	done chan struct{} // closed when the connection has ended

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpReply
	// recorded holds the events of the recorded (session, method) pairs,
	// and arrived is closed and replaced whenever one comes in, so that
	// waiters need no polling.
	recorded map[eventKey][]json.RawMessage
	arrived  chan struct{}
}

type eventKey struct{ session, method string }

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// LaunchChromium starts headless Chromium (browser is its path, as
// FindChromium returns it) with a fresh profile, and connects to its
// DevTools. Cleanups close the connection, end Chromium and every process
// it started, and remove the profile; Chromium's output is logged if t
// failed.
func LaunchChromium(t testing.TB, browser string) *Chromium {
	t.Helper()
	dir, err := os.MkdirTemp("", "wstest-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(dir, "profile")
	logFile, err := os.Create(filepath.Join(dir, "chromium.log"))
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	cmd := exec.Command(browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync",
		// Chromium 156's Local Network Access checks may hold a page's
		// requests to 127.0.0.1 for a permission prompt that headless
		// cannot show; tests serve pages and sockets on loopback and
		// should not hang on how Chromium classifies them.
		"--disable-features=LocalNetworkAccessChecks",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "about:blank")
	// Chromium's output goes to a file, not a pipe: a pipe that its helper
	// processes held open would keep cmd.Wait from returning.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A group of its own, so that its renderers and helpers can be ended
	// with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var c *Chromium
	t.Cleanup(func() {
		if c != nil {
			// Ask first: Chromium that exits by itself leaves a tidy
			// profile behind.
			c.Call(context.Background(), "", "Browser.close", nil)
			c.close()
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				t.Log("chromium did not exit within 5 s of Browser.close; killing it")
			}
		}
		// Whatever is left of the group: helpers that outlived the browser,
		// or all of it.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Errorf("chromium (pid %d) still running 5 s after SIGKILL", cmd.Process.Pid)
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("chromium's output, without its D-Bus complaints:\n%s", tail(withoutDBus(b), 4<<10))
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing chromium's profile: %v", err)
		}
	})

	wsURL, err := devToolsURL(profile, exited)
	if err != nil {
		t.Fatal(err)
	}
	c, err = dialCDP(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// devToolsURL waits for Chromium to write the port it listens on into the
// profile and returns the browser's DevTools WebSocket URL.
func devToolsURL(profile string, exited <-chan struct{}) (string, error) {
	file := filepath.Join(profile, "DevToolsActivePort")
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Chromium writes the file in one go, but a read may still catch
		// it half-written: only a port and a path together count.
		if b, err := os.ReadFile(file); err == nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) == 2 {
				if port, err := strconv.Atoi(lines[0]); err == nil && port > 0 {
					return fmt.Sprintf("ws://127.0.0.1:%d%s", port, strings.TrimSpace(lines[1])), nil
				}
			}
		}
		select {
		case <-exited:
			return "", errors.New("chromium exited before opening its DevTools port")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("chromium wrote no %s within 30 s", file)
		}
	}
}

// withoutDBus drops the lines about the D-Bus that containers lack, which
// Chromium logs by the dozen.
func withoutDBus(b []byte) []byte {
	var out []byte
	for line := range strings.Lines(string(b)) {
		if !strings.Contains(line, "dbus") {
			out = append(out, line...)
		}
	}
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func dialCDP(url string) (*Chromium, error) {
	c := &Chromium{
		done:     make(chan struct{}),
		pending:  make(map[int64]chan cdpReply),
		recorded: make(map[eventKey][]json.RawMessage),
		arrived:  make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), CDPTimeout)
	defer cancel()
	conn, _, err := gws.Dial(ctx, url, (*cdpHandler)(c), &gws.ClientOptions{
		// Screenshots come back base64-encoded in one message, and so
		// do the frames of a page's WebSockets once Network is enabled.
		ReadMaxPayloadSize: 64 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to chromium's DevTools: %w", err)
	}
	c.conn = conn
	return c, nil
}

func (c *Chromium) close() {
	c.conn.WriteClose(gws.CloseNormal, nil)
	select {
	case <-c.done:
	case <-time.After(CDPTimeout):
		c.conn.Close()
		<-c.done
	}
}

// Call sends a DevTools command, to the browser or, with a sessionID, to
// one tab, and waits up to CDPTimeout for its result.
func (c *Chromium) Call(ctx context.Context, sessionID, method string, params any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, CDPTimeout)
	defer cancel()
	reply := make(chan cdpReply, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	msg, err := json.Marshal(struct {
		ID        int64  `json:"id"`
		SessionID string `json:"sessionId,omitempty"`
		Method    string `json:"method"`
		Params    any    `json:"params,omitempty"`
	}{id, sessionID, method, params})
	if err != nil {
		return nil, err
	}
	if err := c.conn.Write(gws.OpcodeText, msg); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r := <-reply:
		if r.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		return r.Result, nil
	case <-c.done:
		return nil, fmt.Errorf("%s: the DevTools connection ended", method)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer: %w", method, ctx.Err())
	}
}

// MustCall is Call that fails t on an error and decodes the result into
// result unless it is nil.
func (c *Chromium) MustCall(t testing.TB, sessionID, method string, params, result any) {
	t.Helper()
	raw, err := c.Call(context.Background(), sessionID, method, params)
	if err != nil {
		t.Fatal(err)
	}
	if result != nil {
		if err := json.Unmarshal(raw, result); err != nil {
			t.Fatalf("%s: %v in %s", method, err, raw)
		}
	}
}

// cdpHandler is Chromium's side of gws's EventHandler, kept off
// Chromium's own method set so that callers see only the driving API.
type cdpHandler Chromium

func (*cdpHandler) OnOpen(*gws.Conn)         {}
func (*cdpHandler) OnError(*gws.Conn, error) {}
func (*cdpHandler) OnPing(*gws.Conn, []byte) {}
func (*cdpHandler) OnPong(*gws.Conn, []byte) {}
func (h *cdpHandler) OnClose(*gws.Conn, gws.Code, []byte) {
	close(h.done)
}

func (h *cdpHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	c := (*Chromium)(h)
	var head struct {
		ID        int64           `json:"id"`
		SessionID string          `json:"sessionId"`
		Method    string          `json:"method"`
		Params    json.RawMessage `json:"params"`
	}
	if json.Unmarshal(m.Bytes(), &head) != nil {
		return
	}
	if head.ID == 0 {
		c.mu.Lock()
		key := eventKey{head.SessionID, head.Method}
		if events, ok := c.recorded[key]; ok {
			// Unmarshal copied Params out of m, whose buffer gws reuses.
			c.recorded[key] = append(events, head.Params)
			close(c.arrived)
			c.arrived = make(chan struct{})
		}
		c.mu.Unlock()
		return
	}
	var r cdpReply
	if err := json.Unmarshal(m.Bytes(), &r); err != nil {
		r.Error = &struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}{Message: "undecodable reply: " + err.Error()}
	}
	c.mu.Lock()
	reply := c.pending[head.ID]
	c.mu.Unlock()
	if reply != nil {
		reply <- r
	}
}
