//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gwsgo/gws/internal/wstest/browser"
)

// TestBrowserChat opens the chat page in headless Chromium as two users,
// each on a node of its own (two chat nodes on one NATS server), who join
// through the page's form, exchange messages through it, and meet in a
// room. Set CHAT_SCREENSHOTS to a directory to get a picture of both pages
// at the end.
func TestBrowserChat(t *testing.T) {
	chromiumPath := browser.FindChromium(t, "the chat page")
	nats := startNATS(t)
	addrA, stopA := startChatOn(t, nats)
	addrB, stopB := startChatOn(t, nats)
	cdp := browser.LaunchChromium(t, chromiumPath)

	alice := openChat(t, cdp, "http://"+addrA+"/")
	bob := openChat(t, cdp, "http://"+addrB+"/")
	alice.join(t, "alice")
	bob.join(t, "bob")
	alice.waitLog(t, "server: bob joined")

	alice.send(t, "bob", "hello from alice")
	bob.waitLog(t, "alice → bob: hello from alice")
	alice.waitLog(t, "alice → bob: hello from alice")

	bob.send(t, "", "hi everyone")
	alice.waitLog(t, "bob: hi everyone")
	bob.waitLog(t, "bob: hi everyone")

	// The rooms panel shows who is in each room, on every node.
	alice.joinRoom(t, "lobby")
	bob.joinRoom(t, "lobby")
	for _, p := range []chatPage{alice, bob} {
		p.waitRoom(t, "lobby", "#lobby: alice, bob")
	}
	bob.send(t, "#lobby", "hi lobby")
	alice.waitLog(t, "bob → #lobby: hi lobby")
	bob.waitLog(t, "bob → #lobby: hi lobby")

	if dir := os.Getenv("CHAT_SCREENSHOTS"); dir != "" {
		alice.Screenshot(t, filepath.Join(dir, "alice.png"))
		bob.Screenshot(t, filepath.Join(dir, "bob.png"))
	}

	bob.Front(t)
	bob.Click(t, `#roomlist li[data-room="lobby"] button`)
	alice.waitRoom(t, "lobby", "#lobby: alice")
	bob.WaitFor(t, `!document.querySelector('#roomlist li')`, "bob's room list to be empty")

	// The server's graceful shutdown reaches the people in the room, and
	// the page offers to join again.
	for _, stop := range []func() error{stopA, stopB} {
		if err := stop(); err != nil {
			t.Fatalf("run: %v", err)
		}
	}
	for _, p := range []chatPage{alice, bob} {
		p.waitLog(t, "* disconnected (1001 server shutting down)")
		p.WaitFor(t, `!document.getElementById("join").hidden && document.getElementById("send").hidden`, "the join form to come back")
	}
	if dir := os.Getenv("CHAT_SCREENSHOTS"); dir != "" {
		alice.Screenshot(t, filepath.Join(dir, "alice-after-shutdown.png"))
	}
}

// chatPage is a tab showing the chat page, with what a person does there.
type chatPage struct{ *browser.Tab }

func openChat(t *testing.T, cdp *browser.Chromium, url string) chatPage {
	t.Helper()
	p := chatPage{cdp.OpenTab(t, url)}
	// The log is what a failed wait most needs to show.
	p.OnTimeout = `document.getElementById("log")?.innerText ?? ""`
	p.WaitFor(t, `!!document.getElementById("join")`, "the chat page to load")
	return p
}

func (p chatPage) join(t *testing.T, name string) {
	t.Helper()
	p.Front(t)
	p.TypeInto(t, "name", name)
	p.Click(t, "#join button")
	p.WaitFor(t, `!document.getElementById("send").hidden`, name+"'s message form")
	p.WaitFor(t, fmt.Sprintf(`document.getElementById("me").innerText === %q`, "You are "+name+"."), "the page to say who joined")
	p.WaitFor(t, `document.activeElement === document.getElementById("message")`, "focus on the message box")
	p.waitLog(t, "server: "+name+" joined")
	// A screen reader names every field by its label or aria-label.
	var unnamed []string
	p.Eval(t, `[...document.querySelectorAll("input")].filter(e => !e.labels.length && !e.ariaLabel).map(e => e.id)`, &unnamed)
	if len(unnamed) > 0 {
		t.Errorf("inputs without a label: %q", unnamed)
	}
}

func (p chatPage) send(t *testing.T, to, message string) {
	t.Helper()
	p.Front(t)
	p.Eval(t, `document.getElementById("to").value = ""`, nil)
	p.TypeInto(t, "to", to)
	p.TypeInto(t, "message", message)
	p.Click(t, "#send button")
}

func (p chatPage) joinRoom(t *testing.T, room string) {
	t.Helper()
	p.Front(t)
	p.TypeInto(t, "room", room)
	p.Click(t, "#joinroom button")
}

// waitRoom waits until the rooms panel shows room as text.
func (p chatPage) waitRoom(t *testing.T, room, text string) {
	t.Helper()
	p.WaitFor(t, fmt.Sprintf(`document.querySelector('#roomlist li[data-room=%q]')?.firstChild.textContent === %q`, room, text),
		fmt.Sprintf("%q in the rooms panel", text))
}

// waitLog waits until a line of the page's log reads line.
func (p chatPage) waitLog(t *testing.T, line string) {
	t.Helper()
	p.WaitFor(t, fmt.Sprintf(`[...document.querySelectorAll("#log > *")].some(e => e.textContent === %q)`, line),
		fmt.Sprintf("%q in the log", line))
}
