package publishtest

import (
	"strings"
	"testing"
)

// program is one of the README's programs as a user's main package.
type program struct {
	name    string
	modules []string // what go get fetches for it
	source  string
}

// mounts turns each router's line of the README's "Mounting gws" block,
// found by its trailing comment, into a program: the main declares what
// the line uses (upgrader, handler, the router's own value) and starts
// the router. LINE stands for the README's line.
var mounts = []struct {
	comment, adapter, main string
}{
	{"net/http", "adapters/nethttp", `package main

import (
	"net/http"

	gwshttp "github.com/gwsgo/gws/adapters/nethttp"
	gws "github.com/gwsgo/gws/core"
)

func main() {
	upgrader, handler := &gws.Upgrader{}, gws.NopHandler{}
	LINE
	http.ListenAndServe("127.0.0.1:3000", nil)
}
`},
	{"Gin", "adapters/gin", `package main

import (
	"github.com/gin-gonic/gin"
	gwsgin "github.com/gwsgo/gws/adapters/gin"
	gws "github.com/gwsgo/gws/core"
)

func main() {
	upgrader, handler := &gws.Upgrader{}, gws.NopHandler{}
	router := gin.Default()
	LINE
	router.Run("127.0.0.1:3000")
}
`},
	{"Echo v4", "adapters/echo", `package main

import (
	gwsecho "github.com/gwsgo/gws/adapters/echo"
	gws "github.com/gwsgo/gws/core"
	"github.com/labstack/echo/v4"
)

func main() {
	upgrader, handler := &gws.Upgrader{}, gws.NopHandler{}
	e := echo.New()
	LINE
	e.Start("127.0.0.1:3000")
}
`},
	{"Echo v5", "adapters/echov5", `package main

import (
	gwsechov5 "github.com/gwsgo/gws/adapters/echov5"
	gws "github.com/gwsgo/gws/core"
	"github.com/labstack/echo/v5"
)

func main() {
	upgrader, handler := &gws.Upgrader{}, gws.NopHandler{}
	e := echo.New()
	LINE
	e.Start("127.0.0.1:3000")
}
`},
	{"Fiber v2", "adapters/fiber", `package main

import (
	"github.com/gofiber/fiber/v2"
	gwsfiber "github.com/gwsgo/gws/adapters/fiber"
	gws "github.com/gwsgo/gws/core"
)

func main() {
	upgrader, handler := &gws.Upgrader{}, gws.NopHandler{}
	app := fiber.New()
	LINE
	app.Listen("127.0.0.1:3000")
}
`},
	{"Fiber v3", "adapters/fiberv3", `package main

import (
	"github.com/gofiber/fiber/v3"
	gwsfiberv3 "github.com/gwsgo/gws/adapters/fiberv3"
	gws "github.com/gwsgo/gws/core"
)

func main() {
	upgrader, handler := &gws.Upgrader{}, gws.NopHandler{}
	app := fiber.New()
	LINE
	app.Listen("127.0.0.1:3000")
}
`},
	{"fasthttp", "adapters/fasthttp", `package main

import (
	gwsfasthttp "github.com/gwsgo/gws/adapters/fasthttp"
	gws "github.com/gwsgo/gws/core"
	"github.com/valyala/fasthttp"
)

func main() {
	upgrader, handler := &gws.Upgrader{}, gws.NopHandler{}
	addr := "127.0.0.1:3000"
	LINE
}
`},
}

// readmePrograms returns the README's quick start, verbatim, and a
// program for each router's line of "Mounting gws".
func readmePrograms(t *testing.T, readme string) []program {
	t.Helper()
	quick := goBlocks(section(readme, "Quick start"))
	if len(quick) == 0 || !strings.Contains(quick[0], "func main()") {
		t.Fatal(`README.md: no Go program in "Quick start"`)
	}
	programs := []program{{name: "quickstart", modules: []string{repo + "/core"}, source: quick[0]}}

	lines := map[string]string{} // statement by trailing comment
	for _, block := range goBlocks(section(readme, "Mounting gws")) {
		for line := range strings.Lines(block) {
			if i := strings.LastIndex(line, "//"); i > 0 {
				lines[strings.TrimSpace(line[i+2:])] = strings.TrimSpace(line[:i])
			}
		}
	}
	for _, m := range mounts {
		line, ok := lines[m.comment]
		if !ok {
			t.Fatalf(`README.md: no line ending in "// %s" in the Go block of "Mounting gws"`, m.comment)
		}
		programs = append(programs, program{
			name:    strings.TrimPrefix(m.adapter, "adapters/"),
			modules: []string{repo + "/core", repo + "/" + m.adapter},
			source:  strings.Replace(m.main, "LINE", line, 1),
		})
	}
	return programs
}

// section returns the text under the "## title" heading, up to the next
// heading of that level.
func section(markdown, title string) string {
	_, rest, ok := strings.Cut(markdown, "\n## "+title+"\n")
	if !ok {
		return ""
	}
	text, _, _ := strings.Cut(rest, "\n## ")
	return text
}

// goBlocks returns the contents of the ```go fenced blocks of markdown.
func goBlocks(markdown string) []string {
	var blocks []string
	for {
		_, rest, ok := strings.Cut(markdown, "```go\n")
		if !ok {
			return blocks
		}
		block, after, _ := strings.Cut(rest, "```")
		blocks = append(blocks, block)
		markdown = after
	}
}
