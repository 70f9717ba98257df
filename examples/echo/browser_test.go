//go:build unix

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest"
	"github.com/gwsgo/gws/internal/wstest/browser"
)

// TestBrowser checks that Chromium negotiates permessage-deflate with the
// echo server on every router, as `go run ./examples/echo -compress`
// serves, and that what Chromium compresses gws inflates and the other
// way round: a page opens a WebSocket to the server and has messages
// echoed, compared byte for byte in the page. The handshake is read from
// Chromium's own Network events, so the offer and the answer checked are
// the ones Chromium sent and saw.
//
// Chromium keeps its compression context unless the server's answer says
// otherwise, so each router also runs with context takeover on in both
// directions, the path where gws inflates against Chromium's history; and
// with compression off, where the socket must work without the extension.
//
// In poller mode (-poller) Chromium runs against net/http, with and
// without compression: what a browser sends goes through the same read
// path on every router, and the conformance and interop tests take each
// router's connections through the poller.
//
// The page connects through a byte-counting relay in front of the server,
// so that the test sees on the wire that messages were compressed, and
// with or without context as agreed, while the server keeps a real TCP
// connection and the path it takes in production.
func TestBrowser(t *testing.T) {
	chromiumPath := browser.FindChromium(t, "permessage-deflate with the echo server")
	start := time.Now()
	chromium := browser.LaunchChromium(t, chromiumPath)
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	modes := []struct {
		suffix                     string
		compress, takeover, poller bool
		codec                      string
	}{
		{"/compress", true, false, false, "std"},
		{"/compress-takeover", true, true, false, "std"},
		{"", false, false, false, "std"},
		{"/compress-klauspost", true, false, false, "klauspost"},
		{"/compress-takeover-klauspost", true, true, false, "klauspost"},
		{"/poller", false, false, true, "std"},
		{"/poller-compress-takeover", true, true, true, "std"},
	}
	for _, name := range slices.Sorted(maps.Keys(routers)) {
		for _, mode := range modes {
			// The codec lies below anything a router touches, and so
			// does what the poller changes: one router is enough.
			if (mode.codec != "std" || mode.poller) && name != "nethttp" {
				continue
			}
			t.Run(name+mode.suffix, func(t *testing.T) {
				u := newUpgrader()
				u.ServerOptions.CompressEnabled = mode.compress
				u.ServerOptions.ServerContextTakeover = mode.takeover
				u.ServerOptions.ClientContextTakeover = mode.takeover
				u.ServerOptions.CompressCodec = codecs[mode.codec]
				u.ServerOptions.Poller = mode.poller
				tap := startTap(t, startEcho(t, routers[name], u))
				checkBrowserEcho(t, chromium, tap, mode.compress, mode.takeover)
			})
		}
	}
	t.Logf("chromium and all routers: %v", time.Since(start).Round(time.Millisecond))
}

// startEcho serves echo with u on a loopback port until t ends.
func startEcho(t *testing.T, serve server, u *gws.Upgrader) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ln, u, wstest.Echo{}) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("server: %v", err)
		}
	})
	return ln.Addr().String()
}

// pageScript opens the socket (%q is its URL) and gives the page, as
// gwsTest, what the test drives it with: echo sends messages back to back
// and resolves to the problems found in their echoes, compared with what
// was sent byte for byte; a dropped connection rejects it with what
// Chromium reported, its close code and reason.
const pageScript = `(async () => {
	const ws = new WebSocket(%q);
	ws.binaryType = "arraybuffer";
	const s = globalThis.gwsTest = {ws, inbox: [], closed: null, wake: () => {}};
	ws.onmessage = (e) => { s.inbox.push(e.data); s.wake(); };
	ws.onclose = (e) => { s.closed = {code: e.code, reason: e.reason, wasClean: e.wasClean}; s.wake(); };
	s.take = async (n) => {
		while (s.inbox.length < n && !s.closed) await new Promise((r) => s.wake = r);
		if (s.inbox.length < n) {
			throw new Error("the connection closed after " + s.inbox.length + " of " + n +
				" echoes: " + JSON.stringify(s.closed));
		}
		return s.inbox.splice(0, n);
	};
	s.diff = (sent, got) => {
		if (typeof sent === "string") {
			if (typeof got !== "string") return "a binary message came back for a text one";
			if (sent === got) return "";
			let i = 0;
			while (i < sent.length && sent[i] === got[i]) i++;
			return "sent " + sent.length + " characters, got " + got.length + ", first difference at " + i;
		}
		if (!(got instanceof ArrayBuffer)) return "a text message came back for a binary one";
		const a = sent, b = new Uint8Array(got);
		let i = 0;
		while (i < a.length && a[i] === b[i]) i++;
		if (i === a.length && a.length === b.length) return "";
		return "sent " + a.length + " bytes, got " + b.length + ", first difference at " + i;
	};
	s.echo = async (msgs) => {
		for (const m of msgs) ws.send(m);
		const got = await s.take(msgs.length);
		return msgs.map((m, i) => s.diff(m, got[i])).map((d, i) => d && "message " + i + ": " + d).filter((d) => d);
	};
	s.close = () => new Promise((resolve) => {
		if (s.closed) return resolve(s.closed);
		s.wake = () => s.closed && resolve(s.closed);
		ws.close(1000, "done");
	});
	const lines = [];
	for (let i = 0; lines.join("").length < 102400; i++) {
		lines.push(JSON.stringify({seq: i, user: "user-" + (i %% 17), text: ["hello", "how are you?", "fine, thanks", "see you"][i %% 4]}) + "\n");
	}
	s.text = lines.join("").slice(0, 102400);
	s.binary = crypto.getRandomValues(new Uint8Array(65536));
	// Letters at random compress by little on their own, and to almost
	// nothing against a previous message that repeats them.
	s.base = Array.from(crypto.getRandomValues(new Uint8Array(2048)), (b) => String.fromCharCode(97 + b %% 26)).join("");
	await new Promise((resolve, reject) => {
		ws.onopen = resolve;
		ws.onerror = () => reject(new Error("the WebSocket failed to open: " + JSON.stringify(s.closed)));
	});
	return {extensions: ws.extensions, protocol: ws.protocol};
})()`

// checkBrowserEcho opens a tab whose page connects to the echo server
// behind tap, and checks the handshake, the echoes and the bytes on the
// wire.
func checkBrowserEcho(t *testing.T, chromium *browser.Chromium, tap *wireTap, compress, takeover bool) {
	p := chromium.OpenTab(t, "about:blank")
	// Chromium tells the page little of why a socket failed, but logs it.
	p.Record("Log.entryAdded", "Network.webSocketWillSendHandshakeRequest", "Network.webSocketHandshakeResponseReceived")
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range p.Events("Log.entryAdded") {
				t.Logf("chromium's log: %s", e)
			}
		}
	})
	chromium.MustCall(t, p.Session, "Log.enable", nil, nil)
	chromium.MustCall(t, p.Session, "Network.enable", nil, nil)

	url := "ws://" + tap.addr() + "/"
	var opened struct{ Extensions, Protocol string }
	p.Eval(t, fmt.Sprintf(pageScript, url), &opened)

	offer, answer := handshake(t, p, url)
	t.Logf("Chromium offered  Sec-WebSocket-Extensions: %s", offer)
	t.Logf("gws answered      Sec-WebSocket-Extensions: %s", answer)
	t.Logf("ws.extensions in the page: %q", opened.Extensions)
	if !hasPMD(offer) {
		t.Fatalf("Chromium offered no permessage-deflate (%q): nothing to check", offer)
	}
	if opened.Extensions != answer {
		t.Errorf("ws.extensions is %q but the server answered %q", opened.Extensions, answer)
	}
	if compress {
		if err := checkAcceptance(offer, answer); err != nil {
			t.Errorf("the answer %q is not a valid acceptance of Chromium's offer %q: %v", answer, offer, err)
		}
		// gws's defaults, which -compress keeps: no context either way.
		for _, prm := range []string{"server_no_context_takeover", "client_no_context_takeover"} {
			if has := hasParam(answer, prm); has == takeover {
				t.Errorf("with context takeover %v, the answer %q has %s: %v", takeover, answer, prm, has)
			}
		}
	} else if answer != "" {
		t.Errorf("with compression off the server answered Sec-WebSocket-Extensions: %s", answer)
	}

	echo := func(what, js string) (up, down int64) {
		t.Helper()
		up0, down0 := tap.counts()
		var problems []string
		p.Eval(t, "gwsTest.echo("+js+")", &problems)
		for _, pr := range problems {
			t.Errorf("%s: %s", what, pr)
		}
		up1, down1 := tap.counts()
		t.Logf("%-40s on the wire: %6d bytes up, %6d down", what, up1-up0, down1-down0)
		return up1 - up0, down1 - down0
	}

	up, down := echo("100 KiB of JSON text", "[gwsTest.text]")
	const textSize = 102400
	if compress && (up > textSize/4 || down > textSize/4) {
		t.Errorf("100 KiB of repetitive text took %d bytes up and %d down: not compressed", up, down)
	}
	if !compress && (up < textSize || down < textSize) {
		t.Errorf("100 KiB of text took %d bytes up and %d down without compression", up, down)
	}
	echo("64 KiB of random bytes", "[gwsTest.binary]")

	// Messages that differ only in their first bytes: with context
	// takeover, each after the first is a back-reference to the one
	// before, which gws must resolve against Chromium's history.
	up1, down1 := echo("2 KiB of letters", "[`0:${gwsTest.base}`]")
	upN, downN := echo("19 more, back to back", "Array.from({length: 19}, (_, i) => `${i + 1}:${gwsTest.base}`)")
	upN, downN = upN/19, downN/19
	switch {
	case !compress:
	case takeover && (upN > up1/4 || downN > down1/4):
		t.Errorf("with context takeover, repeats took %d bytes up and %d down each, the first %d and %d: no context kept",
			upN, downN, up1, down1)
	case !takeover && (upN < up1/2 || downN < down1/2):
		t.Errorf("without context takeover, repeats took %d bytes up and %d down each, the first %d and %d: context kept",
			upN, downN, up1, down1)
	}

	// Small messages go out uncompressed from gws (below its threshold)
	// but compressed from Chromium, and empty ones are edge cases of
	// both; mixed with large ones, in a row.
	echo("mixed, back to back", `["", new Uint8Array(0), "a", "héllo wörld ✓", gwsTest.text.slice(0, 5000),
		gwsTest.binary.slice(0, 1000), "", gwsTest.text, gwsTest.binary, "z".repeat(600), gwsTest.text.slice(7)]`)

	checkPageClose(t, p)
	if n := tap.accepted.Load(); n != 1 {
		t.Errorf("the page opened %d connections, want 1", n)
	}
}

// checkPageClose closes the page's socket with 1000 and checks that the
// close was clean.
func checkPageClose(t *testing.T, p *browser.Tab) {
	t.Helper()
	var closed struct {
		Code     int
		Reason   string
		WasClean bool
	}
	p.Eval(t, "gwsTest.close()", &closed)
	if closed.Code != 1000 || !closed.WasClean {
		t.Errorf("closing from the page: %+v, want a clean 1000", closed)
	}
}

// handshake returns the Sec-WebSocket-Extensions header of the request
// Chromium sent to url and of the response it got, as Chromium's Network
// events report them, after checking that the response was a 101.
func handshake(t *testing.T, p *browser.Tab, url string) (offer, answer string) {
	t.Helper()
	var created struct {
		RequestID string `json:"requestId"`
		Request   struct {
			Headers map[string]string `json:"headers"`
		} `json:"request"`
	}
	// The tab opens no socket but the test's.
	raw := p.WaitEvent(t, "Network.webSocketWillSendHandshakeRequest", "the handshake request", nil)
	if err := json.Unmarshal(raw, &created); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	var resp struct {
		Response struct {
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
		} `json:"response"`
	}
	raw = p.WaitEvent(t, "Network.webSocketHandshakeResponseReceived", "the handshake response", func(e json.RawMessage) bool {
		var id struct {
			RequestID string `json:"requestId"`
		}
		return json.Unmarshal(e, &id) == nil && id.RequestID == created.RequestID
	})
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	if resp.Response.Status != http.StatusSwitchingProtocols {
		t.Fatalf("handshake with %s answered %d: %s", url, resp.Response.Status, raw)
	}
	return header(created.Request.Headers, "Sec-WebSocket-Extensions"), header(resp.Response.Headers, "Sec-WebSocket-Extensions")
}

// header looks name up in headers as Chromium reports them: names as they
// were sent, repeated fields joined by newlines.
func header(headers map[string]string, name string) string {
	var vals []string
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			vals = append(vals, strings.Split(v, "\n")...)
		}
	}
	return strings.Join(vals, ", ")
}

// extParam is one parameter of an extension in Sec-WebSocket-Extensions.
type extParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions splits a Sec-WebSocket-Extensions value into its
// extensions, each a list whose first element is the extension's name.
// Quoted values lose their quotes; the browsers' and gws's headers hold
// no quoted commas or semicolons.
func parseExtensions(h string) [][]extParam {
	var exts [][]extParam
	for ext := range strings.SplitSeq(h, ",") {
		var params []extParam
		for prm := range strings.SplitSeq(ext, ";") {
			name, value, hasValue := strings.Cut(prm, "=")
			params = append(params, extParam{
				name:     strings.TrimSpace(name),
				value:    strings.Trim(strings.TrimSpace(value), `"`),
				hasValue: hasValue,
			})
		}
		exts = append(exts, params)
	}
	return exts
}

func hasPMD(h string) bool {
	for _, ext := range parseExtensions(h) {
		if ext[0].name == "permessage-deflate" {
			return true
		}
	}
	return false
}

func hasParam(h, name string) bool {
	for _, ext := range parseExtensions(h) {
		for _, prm := range ext[1:] {
			if prm.name == name {
				return true
			}
		}
	}
	return false
}

// checkAcceptance reports whether answer, a server's
// Sec-WebSocket-Extensions, accepts one of the permessage-deflate offers
// in offer as RFC 7692, section 7, lets it.
func checkAcceptance(offer, answer string) error {
	exts := parseExtensions(answer)
	if len(exts) != 1 || exts[0][0].name != "permessage-deflate" || exts[0][0].hasValue {
		return errors.New("want exactly one permessage-deflate")
	}
	got := map[string]extParam{}
	for _, prm := range exts[0][1:] {
		if _, dup := got[prm.name]; dup {
			return fmt.Errorf("%s twice", prm.name)
		}
		got[prm.name] = prm
		switch prm.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if prm.hasValue {
				return fmt.Errorf("%s takes no value", prm.name)
			}
		case "server_max_window_bits", "client_max_window_bits":
			// A response always gives the window a value (section 7.1.2).
			if _, err := windowBits(prm); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown parameter %s", prm.name)
		}
	}
	var errs []error
	for i, ext := range parseExtensions(offer) {
		if ext[0].name != "permessage-deflate" {
			continue
		}
		if err := acceptsOffer(got, ext[1:]); err != nil {
			errs = append(errs, fmt.Errorf("offer %d: %w", i+1, err))
		} else {
			return nil
		}
	}
	return errors.Join(errs...)
}

// acceptsOffer checks the parameters of an answer against those of one
// offer.
func acceptsOffer(answer map[string]extParam, offer []extParam) error {
	offered := map[string]extParam{}
	for _, prm := range offer {
		offered[prm.name] = prm
	}
	if _, ok := offered["server_no_context_takeover"]; ok {
		if _, ok := answer["server_no_context_takeover"]; !ok {
			return errors.New("server_no_context_takeover offered but not answered (section 7.1.1.1)")
		}
	}
	if o, ok := offered["server_max_window_bits"]; ok {
		a, answered := answer["server_max_window_bits"]
		if !answered {
			return errors.New("server_max_window_bits offered but not answered (section 7.1.2.1)")
		}
		ob, _ := windowBits(o)
		if ab, _ := windowBits(a); ab > ob {
			return fmt.Errorf("server_max_window_bits=%d answered to %d", ab, ob)
		}
	}
	if a, ok := answer["client_max_window_bits"]; ok {
		o, offeredBits := offered["client_max_window_bits"]
		if !offeredBits {
			return errors.New("client_max_window_bits answered but not offered (section 7.1.2.2)")
		}
		ab, _ := windowBits(a)
		if ob, err := windowBits(o); o.hasValue && err == nil && ab > ob {
			return fmt.Errorf("client_max_window_bits=%d answered to %d", ab, ob)
		}
	}
	return nil
}

// windowBits parses a max_window_bits value: 8 to 15, no leading zero.
func windowBits(p extParam) (int, error) {
	n, err := strconv.Atoi(p.value)
	if !p.hasValue || err != nil || n < 8 || n > 15 || p.value[0] == '0' || p.value[0] == '+' {
		return 0, fmt.Errorf("%s=%q is not a window size", p.name, p.value)
	}
	return n, nil
}

// wireTap relays TCP connections to a server and counts the bytes each
// way. A byte is counted before it is passed on, so once the page has an
// echo, the counts include both the message and its echo.
type wireTap struct {
	ln       net.Listener
	up, down atomic.Int64 // browser to server, server to browser
	accepted atomic.Int64

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

// startTap relays a loopback port to target until t ends.
func startTap(t *testing.T, target string) *wireTap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wireTap{ln: ln}
	w.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w.accepted.Add(1)
			s, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				t.Errorf("relay: %v", err)
				c.Close()
				continue
			}
			if !w.track(c, s) {
				return
			}
			w.wg.Go(func() {
				var both sync.WaitGroup
				both.Go(func() { relay(s, c, &w.up) })
				both.Go(func() { relay(c, s, &w.down) })
				both.Wait()
				c.Close()
				s.Close()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		w.mu.Lock()
		w.closed = true
		for _, c := range w.conns {
			c.Close()
		}
		w.mu.Unlock()
		w.wg.Wait()
	})
	return w
}

// track remembers conns for the cleanup to close, or closes them and
// reports false if the cleanup has already run.
func (w *wireTap) track(conns ...net.Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	w.conns = append(w.conns, conns...)
	return true
}

func (w *wireTap) addr() string { return w.ln.Addr().String() }

func (w *wireTap) counts() (up, down int64) { return w.up.Load(), w.down.Load() }

// relay copies src to dst, counting, and passes src's end of stream on as
// a half-close, so that each side sees the other's closing as it was.
func relay(dst, src net.Conn, n *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n.Add(int64(k))
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// TestCheckAcceptance keeps TestBrowser's judge of the handshake honest:
// it must pass what RFC 7692 allows a server to answer to Chromium's
// offer, and nothing else.
func TestCheckAcceptance(t *testing.T) {
	const chromium = "permessage-deflate; client_max_window_bits"
	for _, c := range []struct {
		offer, answer string
		ok            bool
	}{
		{chromium, "permessage-deflate", true},
		{chromium, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", true},
		{chromium, "permessage-deflate; client_max_window_bits=10; server_max_window_bits=12", true},
		{chromium, "", false},
		{chromium, "permessage-deflate, permessage-deflate", false},
		{chromium, "permessage-deflate; client_max_window_bits", false},
		{chromium, "permessage-deflate; client_max_window_bits=7", false},
		{chromium, "permessage-deflate; server_max_window_bits=016", false},
		{chromium, "permessage-deflate; server_no_context_takeover=1", false},
		{chromium, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", false},
		{chromium, "permessage-deflate; x_unknown", false},
		{chromium, "x-webkit-deflate-frame", false},
		{"permessage-deflate", "permessage-deflate; client_max_window_bits=15", false},
		{"permessage-deflate; server_no_context_takeover", "permessage-deflate", false},
		{"permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=11", false},
		{"permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=9", true},
		{"permessage-deflate; client_max_window_bits=9", "permessage-deflate; client_max_window_bits=10", false},
		{"permessage-deflate; server_max_window_bits=10, permessage-deflate", "permessage-deflate", true},
	} {
		if err := checkAcceptance(c.offer, c.answer); (err == nil) != c.ok {
			t.Errorf("offer %q, answer %q: got %v, want ok %v", c.offer, c.answer, err, c.ok)
		}
	}
}
