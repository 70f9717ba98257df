package main

import (
	"fmt"
	"html"
	"strings"

	"github.com/gwsgo/gws/bench/internal/loadgen"
)

// Chart geometry, in SVG user units.
const (
	chartWidth = 920
	labelWidth = 170
	barMax     = 440
	barHeight  = 16
	barGap     = 4
	titleSpace = 26
	panelGap   = 16
)

// barColor makes ours (on net/http, and lighter on Fiber or with another
// codec) and the
// reference rival stand out, and the TCP floor recede.
func barColor(lib string) string {
	switch lib {
	case "gws":
		return "#1f6fb5"
	case "gws-fiber", "gws-fiberv3", "gws-klauspost":
		return "#7fb0dc"
	case "lxzan":
		return "#e07b24"
	case "tcp":
		return "#c8c8c8"
	}
	return "#8a9299"
}

// svg draws one panel per scenario, a bar per library, each panel scaled to
// its own largest value, since the scenarios count different things.
func (r *results) svg() []byte {
	var b strings.Builder
	y := 34
	var body strings.Builder
	for _, sc := range r.scenarios {
		what := "messages per second, higher is better"
		switch sc.Mode {
		case loadgen.ModeConnRate:
			what = "connections per second, higher is better"
		case loadgen.ModeIdle:
			what = "KB per idle connection, lower is better"
		case loadgen.ModeBroadcast:
			what = "broadcasts per second, higher is better"
		}
		fmt.Fprintf(&body, `<text x="0" y="%d" font-weight="bold">%s</text><text x="%d" y="%d" fill="#666" text-anchor="end">%s</text>`+"\n",
			y+14, html.EscapeString(sc.title()), chartWidth, y+14, what)
		y += titleSpace
		top := 0.0
		libs := r.libsFor(sc)
		for _, lib := range libs {
			top = max(top, r.stats(sc, lib).primary(sc))
		}
		for _, lib := range libs {
			st := r.stats(sc, lib)
			fmt.Fprintf(&body, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelWidth-8, y+12, html.EscapeString(title(lib)))
			v := st.primary(sc)
			if st.n == 0 || top == 0 {
				fmt.Fprintf(&body, `<text x="%d" y="%d" fill="#a00">failed</text>`+"\n", labelWidth, y+12)
			} else {
				w := int(float64(barMax) * v / top)
				label := kb(v)
				if sc.Mode != loadgen.ModeIdle {
					// The CPU-normalised figure beside the rate, since on
					// a shared machine it is the steadier of the two.
					per := st.perCPU
					if sc.Mode == loadgen.ModeBroadcast {
						per /= float64(sc.Conns)
					}
					label = fmt.Sprintf("%s %s · %s per server CPU-s", small(v), sc.unit(), small(per))
				}
				fmt.Fprintf(&body, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
					labelWidth, y, max(w, 1), barHeight, barColor(lib), labelWidth+w+6, y+12, label)
			}
			y += barHeight + barGap
		}
		y += panelGap
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="-10 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth+20, y, chartWidth+20, y)
	fmt.Fprintf(&b, `<rect x="-10" y="0" width="%d" height="%d" fill="#fff"/>`+"\n", chartWidth+20, y)
	b.WriteString(`<text x="0" y="18" font-size="15" font-weight="bold">gws and other Go WebSocket servers on loopback, one core each for server and client (medians)</text>` + "\n")
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
