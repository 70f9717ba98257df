//go:build unix

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gws "github.com/gwsgo/gws/core"
	"github.com/gwsgo/gws/internal/wstest/browser"
	"github.com/gwsgo/gws/internal/wstest/routertest"
)

// TestBrowserH2 loads the page of `GODEBUG=http2xconnect=1 go run
// ./examples/echo -tls` in headless Chromium over HTTPS, on each router
// that runs on net/http, with compression on and off. The page's
// WebSockets must arrive as HTTP/2 streams (the server sees ProtoMajor 2
// in every handshake) on the page's own connection (from the address the
// page was served to), and echo text, binary and 1 MiB messages
// byte for byte before a clean close 1000. (Chromium's first TLS
// handshakes fail on the certificate before it applies the override, so
// the connection is told by the client's address, not by counting.) Chromium is told to accept the
// self-signed certificate through DevTools (Security.setIgnoreCertificateErrors),
// as --ignore-certificate-errors-spki-list does from the command line.
func TestBrowserH2(t *testing.T) {
	if !routertest.XConnect(t, true) {
		return
	}
	chromiumPath := browser.FindChromium(t, "WebSockets over HTTP/2 with the echo server")
	chromium := browser.LaunchChromium(t, chromiumPath)
	chromium.MustCall(t, "", "Security.setIgnoreCertificateErrors", map[string]any{"ignore": true}, nil)
	for _, name := range h2Routers {
		for _, compress := range []bool{true, false} {
			suffix := ""
			if compress {
				suffix = "/compress"
			}
			t.Run(name+suffix, func(t *testing.T) {
				u := newUpgrader()
				u.ServerOptions.CompressEnabled = compress
				type handshake struct {
					proto  int
					remote string
				}
				seen := make(chan handshake, 8)
				u.CheckOrigin = func(r *gws.Request) bool {
					seen <- handshake{r.ProtoMajor, r.RemoteAddr}
					return gws.SameOrigin(r)
				}
				ln := startTLSEcho(t, routers[name], u)
				pageRemote := checkBrowserH2(t, chromium, "https://"+ln.Addr().String()+"/", compress)
				close(seen)
				n := 0
				for h := range seen {
					n++
					if h.proto != 2 {
						t.Errorf("a WebSocket handshake came over HTTP/%d", h.proto)
					}
					if h.remote != pageRemote {
						t.Errorf("a WebSocket came from %s, the page from %s: not the page's connection", h.remote, pageRemote)
					}
				}
				// The page's own socket, and the test's.
				if n != 2 {
					t.Errorf("%d WebSocket handshakes, want 2", n)
				}
			})
		}
	}
}

// checkBrowserH2 opens the page at url in a tab, then a socket of the
// test's own from it, and checks what it echoes. It returns the address
// the server served the page to.
func checkBrowserH2(t *testing.T, chromium *browser.Chromium, url string, compress bool) string {
	t.Helper()
	p := chromium.OpenTab(t, url)
	p.WaitFor(t, `document.getElementById("log").textContent.includes("echo: hello")`, "the page's own socket to echo")
	var proto string
	p.Eval(t, `performance.getEntriesByType("navigation")[0].nextHopProtocol`, &proto)
	if proto != "h2" {
		t.Fatalf("the page came over %q, want h2", proto)
	}
	var remote string
	p.Eval(t, `document.body.dataset.remote`, &remote)
	var opened struct{ Extensions, Protocol string }
	p.Eval(t, fmt.Sprintf(pageScript, "wss"+strings.TrimPrefix(url, "https")), &opened)
	if got := strings.Contains(opened.Extensions, "permessage-deflate"); got != compress {
		t.Errorf("ws.extensions %q with compression %v", opened.Extensions, compress)
	}
	// 1 MiB of random bytes: getRandomValues fills 64 KiB at a time.
	p.Eval(t, `(() => {
		gwsTest.big = new Uint8Array(1 << 20);
		for (let i = 0; i < gwsTest.big.length; i += 65536) crypto.getRandomValues(gwsTest.big.subarray(i, i + 65536));
		gwsTest.bigText = gwsTest.text.repeat(11).slice(0, 1 << 20);
		return true;
	})()`, nil)
	for _, c := range []struct{ what, js string }{
		{"text", `["hello over HTTP/2", "", "héllo wörld ✓"]`},
		{"binary", `[gwsTest.binary, new Uint8Array([0, 1, 2, 255])]`},
		{"100 KiB of text", `[gwsTest.text]`},
		{"1 MiB of text and 1 MiB of random bytes", `[gwsTest.bigText, gwsTest.big]`},
	} {
		start := time.Now()
		var problems []string
		p.Eval(t, "gwsTest.echo("+c.js+")", &problems)
		for _, pr := range problems {
			t.Errorf("%s: %s", c.what, pr)
		}
		t.Logf("%-40s echoed in %v", c.what, time.Since(start).Round(time.Millisecond))
	}
	checkPageClose(t, p)
	return remote
}
