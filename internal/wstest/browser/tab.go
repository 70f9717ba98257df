//go:build unix

package browser

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

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
