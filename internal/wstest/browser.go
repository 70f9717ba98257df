//go:build unix

package wstest

import (
	"context"
	"encoding/base64"
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

// Tab is one browser tab, driven through its own DevTools session.
type Tab struct {
	Chromium *Chromium
	Session  string
	targetID string

	// OnTimeout is a JavaScript expression whose value WaitFor prints
	// when it gives up, to show what the page did show instead. The
	// default is the page's text.
	OnTimeout string
}

// OpenTab opens a tab on url and waits until the page has loaded; the
// tab is closed when t ends.
func (c *Chromium) OpenTab(t testing.TB, url string) *Tab {
	t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	// about:blank first, so that the session is attached before the page
	// starts running and nothing it does goes unseen.
	c.MustCall(t, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	t.Cleanup(func() {
		// A tab left open would keep its connections open after the
		// test's servers have stopped.
		c.Call(context.Background(), "", "Target.closeTarget", map[string]any{"targetId": target.TargetID})
	})
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	c.MustCall(t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	p := &Tab{Chromium: c, Session: attached.SessionID, targetID: target.TargetID,
		OnTimeout: `document.body?.innerText ?? ""`}
	p.Navigate(t, url)
	return p
}

// Navigate loads url in the tab and waits until it has loaded.
func (p *Tab) Navigate(t testing.TB, url string) {
	t.Helper()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	p.Chromium.MustCall(t, p.Session, "Page.navigate", map[string]any{"url": url}, &nav)
	if nav.ErrorText != "" {
		t.Fatalf("opening %s: %s", url, nav.ErrorText)
	}
	p.WaitFor(t, `document.readyState === "complete"`, url+" to load")
}

// Eval runs a JavaScript expression in the page, awaiting it if it is a
// promise, and stores its value, which must be JSON, in result unless
// result is nil. An exception fails t.
func (p *Tab) Eval(t testing.TB, expr string, result any) {
	t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	p.Chromium.MustCall(t, p.Session, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	}, &r)
	if e := r.ExceptionDetails; e != nil {
		t.Fatalf("evaluating %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if result != nil {
		if err := json.Unmarshal(r.Result.Value, result); err != nil {
			t.Fatalf("evaluating %s: %v in %s", expr, err, r.Result.Value)
		}
	}
}

// WaitFor polls a boolean expression until it holds, for up to
// PageTimeout; what says what is awaited, for the failure.
func (p *Tab) WaitFor(t testing.TB, expr, what string) {
	t.Helper()
	deadline := time.Now().Add(PageTimeout)
	for {
		var ok bool
		p.Eval(t, "!!("+expr+")", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var shown string
			if p.OnTimeout != "" {
				p.Eval(t, "String("+p.OnTimeout+")", &shown)
			}
			t.Fatalf("waited %v for %s; the page shows:\n%s", PageTimeout, what, shown)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TypeInto focuses the input with the given id and types text as
// keyboard input.
func (p *Tab) TypeInto(t testing.TB, id, text string) {
	t.Helper()
	p.Eval(t, fmt.Sprintf(`document.getElementById(%q).focus()`, id), nil)
	p.WaitFor(t, fmt.Sprintf(`document.activeElement === document.getElementById(%q)`, id), "focus on #"+id)
	if text != "" {
		p.Chromium.MustCall(t, p.Session, "Input.insertText", map[string]any{"text": text}, nil)
	}
}

// Click presses and releases the mouse over the middle of the element, as
// a person would, so a button hidden or covered would not be clicked.
func (p *Tab) Click(t testing.TB, selector string) {
	t.Helper()
	var box struct{ X, Y, W, H float64 }
	p.Eval(t, fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		el.scrollIntoView({block: "center"});
		const r = el.getBoundingClientRect();
		return {X: r.x, Y: r.y, W: r.width, H: r.height};
	})()`, selector), &box)
	if box.W == 0 || box.H == 0 {
		t.Fatalf("%s is not visible", selector)
	}
	x, y := box.X+box.W/2, box.Y+box.H/2
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		p.Chromium.MustCall(t, p.Session, "Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": x, "y": y, "button": "left", "clickCount": 1,
		}, nil)
	}
}

// Front brings the tab to the front, as a person switches tabs before
// typing: a background tab draws no frames, so Chromium holds its input
// events for seconds and would never capture a screenshot of it.
func (p *Tab) Front(t testing.TB) {
	t.Helper()
	p.Chromium.MustCall(t, p.Session, "Page.bringToFront", nil, nil)
}

// Screenshot writes a PNG of the tab to file.
func (p *Tab) Screenshot(t testing.TB, file string) {
	t.Helper()
	p.Front(t)
	var shot struct {
		Data string `json:"data"`
	}
	p.Chromium.MustCall(t, p.Session, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	b, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// Record starts keeping the tab's events of the given methods, such as
// "Network.webSocketHandshakeResponseReceived", for Events and WaitEvent.
// Call it before enabling the domain that sends them. Other events are
// dropped as they arrive, so that a test that enables Network does not
// hold every frame of every socket.
func (p *Tab) Record(methods ...string) {
	c := p.Chromium
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range methods {
		key := eventKey{p.Session, m}
		if _, ok := c.recorded[key]; !ok {
			c.recorded[key] = []json.RawMessage{}
		}
	}
}

// Events returns the parameters of the recorded events of method that
// the tab has sent so far, oldest first.
func (p *Tab) Events(method string) []json.RawMessage {
	c := p.Chromium
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.recorded[eventKey{p.Session, method}]...)
}

// WaitEvent waits up to PageTimeout for a recorded event of method that
// match accepts (any, if match is nil), and returns its parameters; what
// says what is awaited, for the failure.
func (p *Tab) WaitEvent(t testing.TB, method, what string, match func(params json.RawMessage) bool) json.RawMessage {
	t.Helper()
	c := p.Chromium
	key := eventKey{p.Session, method}
	timeout := time.After(PageTimeout)
	for {
		c.mu.Lock()
		events, recorded := c.recorded[key]
		arrived := c.arrived
		c.mu.Unlock()
		if !recorded {
			t.Fatalf("waiting for %s: %s is not recorded (call Record first)", what, method)
		}
		for _, e := range events {
			if match == nil || match(e) {
				return e
			}
		}
		select {
		case <-arrived:
		case <-c.done:
			t.Fatalf("waiting for %s: the DevTools connection ended", what)
		case <-timeout:
			t.Fatalf("waited %v for %s (%s)", PageTimeout, what, method)
		}
	}
}
