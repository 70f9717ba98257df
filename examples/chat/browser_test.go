//go:build unix

package main

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

// TestBrowserChat opens the chat page in headless Chromium as two users,
// who join through the page's form and exchange messages through it. Set
// CHAT_SCREENSHOTS to a directory to get a picture of both pages at the
// end.
func TestBrowserChat(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no chromium on PATH, and CI installs it: %v", err)
		}
		t.Skip("SKIP SKIP SKIP: chromium is not installed, so the chat page was NOT tested in a browser " +
			"(apt-get install chromium to run this test)")
	}
	addr, stop := startChat(t)
	cdp := launchChromium(t, browser)

	alice := cdp.openPage(t, "http://"+addr+"/")
	bob := cdp.openPage(t, "http://"+addr+"/")
	alice.join(t, "alice")
	bob.join(t, "bob")
	alice.waitLog(t, "server: bob joined")

	alice.send(t, "bob", "hello from alice")
	bob.waitLog(t, "alice → bob: hello from alice")
	alice.waitLog(t, "alice → bob: hello from alice")

	bob.send(t, "", "hi everyone")
	alice.waitLog(t, "bob: hi everyone")
	bob.waitLog(t, "bob: hi everyone")

	if dir := os.Getenv("CHAT_SCREENSHOTS"); dir != "" {
		alice.screenshot(t, filepath.Join(dir, "alice.png"))
		bob.screenshot(t, filepath.Join(dir, "bob.png"))
	}

	// The server's graceful shutdown reaches the people in the room, and
	// the page offers to join again.
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, p := range []*tab{alice, bob} {
		p.waitLog(t, "* disconnected (1001 server shutting down)")
		p.waitFor(t, `!document.getElementById("join").hidden && document.getElementById("send").hidden`, "the join form to come back")
	}
	if dir := os.Getenv("CHAT_SCREENSHOTS"); dir != "" {
		alice.screenshot(t, filepath.Join(dir, "alice-after-shutdown.png"))
	}
}

// cdpTimeout bounds each DevTools command, and pageTimeout each wait for
// the page to show something.
const (
	cdpTimeout  = 10 * time.Second
	pageTimeout = 10 * time.Second
)

// launchChromium starts headless Chromium with a fresh profile and returns
// a DevTools client connected to it. Cleanups close the client, end
// Chromium and every process it started, and remove the profile.
func launchChromium(t *testing.T, browser string) *cdpClient {
	t.Helper()
	dir, err := os.MkdirTemp("", "chat-chromium-")
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
		// cannot show; the page and its socket share an origin here,
		// but the test should not hang on how Chromium classifies them.
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
	var client *cdpClient
	t.Cleanup(func() {
		if client != nil {
			// Ask first: Chromium that exits by itself leaves a tidy
			// profile behind.
			client.call(context.Background(), "", "Browser.close", nil)
			client.close()
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
	client, err = dialCDP(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	return client
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

// cdpClient speaks the Chrome DevTools Protocol over gws's own client:
// JSON commands with ids, answered by JSON results with the same ids.
// Events are ignored; the test polls the page instead.
type cdpClient struct {
	conn *gws.Conn
	done chan struct{} // closed when the connection has ended

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpReply
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func dialCDP(url string) (*cdpClient, error) {
	c := &cdpClient{done: make(chan struct{}), pending: make(map[int64]chan cdpReply)}
	ctx, cancel := context.WithTimeout(context.Background(), cdpTimeout)
	defer cancel()
	conn, _, err := gws.Dial(ctx, url, c, &gws.ClientOptions{
		// Screenshots come back base64-encoded in one message.
		ReadMaxPayloadSize: 64 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to chromium's DevTools: %w", err)
	}
	c.conn = conn
	go conn.ReadLoop()
	return c, nil
}

func (c *cdpClient) close() {
	c.conn.WriteClose(gws.CloseNormal, nil)
	select {
	case <-c.done:
	case <-time.After(cdpTimeout):
		c.conn.Close()
		<-c.done
	}
}

// call sends a command, to the browser or, with a sessionID, to one page,
// and waits for its result.
func (c *cdpClient) call(ctx context.Context, sessionID, method string, params any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, cdpTimeout)
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

func (c *cdpClient) OnOpen(*gws.Conn)         {}
func (c *cdpClient) OnError(*gws.Conn, error) {}
func (c *cdpClient) OnPing(*gws.Conn, []byte) {}
func (c *cdpClient) OnPong(*gws.Conn, []byte) {}
func (c *cdpClient) OnClose(*gws.Conn, gws.Code, []byte) {
	close(c.done)
}

func (c *cdpClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	var head struct {
		ID int64 `json:"id"`
	}
	if json.Unmarshal(m.Bytes(), &head) != nil || head.ID == 0 {
		return // an event
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

// tab is one browser tab, driven through its own DevTools session.
type tab struct {
	cdp     *cdpClient
	session string
}

func (c *cdpClient) openPage(t *testing.T, url string) *tab {
	t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	c.mustCall(t, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	c.mustCall(t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	p := &tab{cdp: c, session: attached.SessionID}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	c.mustCall(t, p.session, "Page.navigate", map[string]any{"url": url}, &nav)
	if nav.ErrorText != "" {
		t.Fatalf("opening %s: %s", url, nav.ErrorText)
	}
	p.waitFor(t, `document.readyState === "complete" && !!document.getElementById("join")`, "the chat page to load")
	return p
}

func (c *cdpClient) mustCall(t *testing.T, session, method string, params, result any) {
	t.Helper()
	raw, err := c.call(context.Background(), session, method, params)
	if err != nil {
		t.Fatal(err)
	}
	if result != nil {
		if err := json.Unmarshal(raw, result); err != nil {
			t.Fatalf("%s: %v in %s", method, err, raw)
		}
	}
}

// eval runs a JavaScript expression in the page and stores its value,
// which must be JSON, in result.
func (p *tab) eval(t *testing.T, expr string, result any) {
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
	p.cdp.mustCall(t, p.session, "Runtime.evaluate", map[string]any{
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

// waitFor polls a boolean expression until it holds.
func (p *tab) waitFor(t *testing.T, expr, what string) {
	t.Helper()
	deadline := time.Now().Add(pageTimeout)
	for {
		var ok bool
		p.eval(t, "!!("+expr+")", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var log string
			p.eval(t, `document.getElementById("log")?.innerText ?? ""`, &log)
			t.Fatalf("waited %v for %s; the page's log:\n%s", pageTimeout, what, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// typeInto focuses the input and types text as keyboard input.
func (p *tab) typeInto(t *testing.T, id, text string) {
	t.Helper()
	p.eval(t, fmt.Sprintf(`document.getElementById(%q).focus()`, id), nil)
	p.waitFor(t, fmt.Sprintf(`document.activeElement === document.getElementById(%q)`, id), "focus on #"+id)
	if text != "" {
		p.cdp.mustCall(t, p.session, "Input.insertText", map[string]any{"text": text}, nil)
	}
}

// click presses and releases the mouse over the middle of the element, as
// a person would, so a button hidden or covered would not be clicked.
func (p *tab) click(t *testing.T, selector string) {
	t.Helper()
	var box struct{ X, Y, W, H float64 }
	p.eval(t, fmt.Sprintf(`(() => {
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
		p.cdp.mustCall(t, p.session, "Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": x, "y": y, "button": "left", "clickCount": 1,
		}, nil)
	}
}

// front brings the tab to the front, as a person switches tabs before
// typing: a background tab draws no frames, so Chromium holds its input
// events for seconds and would never capture a screenshot of it.
func (p *tab) front(t *testing.T) {
	t.Helper()
	p.cdp.mustCall(t, p.session, "Page.bringToFront", nil, nil)
}

func (p *tab) join(t *testing.T, name string) {
	t.Helper()
	p.front(t)
	p.typeInto(t, "name", name)
	p.click(t, "#join button")
	p.waitFor(t, `!document.getElementById("send").hidden`, name+"'s message form")
	p.waitFor(t, fmt.Sprintf(`document.getElementById("me").innerText === %q`, "You are "+name+"."), "the page to say who joined")
	p.waitFor(t, `document.activeElement === document.getElementById("message")`, "focus on the message box")
	p.waitLog(t, "server: "+name+" joined")
	// A screen reader names every field by its label or aria-label.
	var unnamed []string
	p.eval(t, `[...document.querySelectorAll("input")].filter(e => !e.labels.length && !e.ariaLabel).map(e => e.id)`, &unnamed)
	if len(unnamed) > 0 {
		t.Errorf("inputs without a label: %q", unnamed)
	}
}

func (p *tab) send(t *testing.T, to, message string) {
	t.Helper()
	p.front(t)
	p.eval(t, `document.getElementById("to").value = ""`, nil)
	p.typeInto(t, "to", to)
	p.typeInto(t, "message", message)
	p.click(t, "#send button")
}

// waitLog waits until a line of the page's log reads line.
func (p *tab) waitLog(t *testing.T, line string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf(`[...document.querySelectorAll("#log > *")].some(e => e.textContent === %q)`, line),
		fmt.Sprintf("%q in the log", line))
}

func (p *tab) screenshot(t *testing.T, file string) {
	t.Helper()
	p.front(t)
	var shot struct {
		Data string `json:"data"`
	}
	p.cdp.mustCall(t, p.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	b, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}
