package publishtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// version is what the test releases. Any valid version would do: the
// proxy and the module cache that hold it are the test's own.
const version = "v1.0.0"

// TestOutsideUser releases every published module with scripts/release
// (in a copy of the repository), publishes them into a module proxy on
// disk, and builds the README's programs in fresh modules outside the
// repository with GOWORK=off: the quick start, and each router's line of
// "Mounting gws" (net/http, Gin, Echo v4 and v5, Fiber v2 and v3,
// fasthttp) in a main of its own, each module requiring only core and
// that router's adapter at the released version, as go get would write
// it. So a go.mod that names a module no user can download (a test-only
// one, or one missing from the release) fails here, as does a README
// line that does not compile against the released API.
//
// The router libraries and their dependencies come from the module cache
// when they are there (CI's earlier modules have fetched them), and from
// the environment's GOPROXY when not, so the test passes offline once
// they are cached. It uses a module cache of its own, so that the released
// versions of gws never reach the real one, and builds with -trimpath, so
// that the build cache still serves the routers' packages across runs:
// about 20 s when the build cache is warm, a few minutes when it is cold
// (the routers and their dependencies are compiled once).
func TestOutsideUser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command on fresh modules")
	}
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	programs := readmePrograms(t, string(readme))

	work := t.TempDir()
	tree := filepath.Join(work, "repo")
	copyTree(t, root, tree)
	published := release(t, tree, version)
	proxy := filepath.Join(work, "proxy")
	sums := map[string][]byte{} // go.sum of each published module, by path
	for _, dir := range published {
		path := repo + "/" + dir
		publish(t, proxy, path, version, filepath.Join(tree, dir))
		sums[path], _ = os.ReadFile(filepath.Join(tree, dir, "go.sum"))
	}

	// Each published go.mod requires what the module's code and tests
	// need and nothing else: go mod tidy would leave it as it is.
	for _, dir := range published {
		cmd := exec.Command("go", "mod", "tidy", "-diff")
		cmd.Dir, cmd.Env = filepath.Join(tree, dir), append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: go mod tidy would change its go.mod or go.sum (%v):\n%s", dir, err, out)
		}
	}

	env := outsideEnv(t, proxy, filepath.Join(work, "modcache"))
	for _, p := range programs {
		for _, m := range p.modules {
			if _, ok := sums[m]; !ok {
				t.Fatalf("%s needs %s, which scripts/release did not publish", p.name, m)
			}
		}
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(work, "user", p.name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			gomod := "module example.com/" + p.name + "\n\ngo 1.26\n\nrequire (\n"
			var gosum []byte
			for _, m := range p.modules {
				gomod += "\t" + m + " " + version + "\n"
				// The third-party hashes the published modules were
				// tidied with: without them, go would ask the checksum
				// database, which an offline machine cannot reach.
				gosum = append(gosum, sums[m]...)
			}
			gomod += ")\n"
			writeFile(t, filepath.Join(dir, "go.mod"), gomod)
			writeFile(t, filepath.Join(dir, "go.sum"), string(gosum))
			writeFile(t, filepath.Join(dir, "main.go"), p.source)
			goCommand(t, dir, env, "mod", "tidy")
			goCommand(t, dir, env, "build", "-trimpath", "-o", filepath.Join(dir, p.name), ".")
		})
	}
}

// outsideEnv is the environment of a user's build: no workspace, the
// released modules from proxy and every other module from the module
// cache or, failing that, the environment's own proxy; no checksum
// database for gws's modules, which no public proxy has seen.
func outsideEnv(t *testing.T, proxy, modcache string) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPROXY", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	goproxy, cache, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	set := map[string]string{
		"GOWORK":      "off",
		"GOFLAGS":     "-mod=mod -modcacherw", // modcacherw: t.TempDir can remove the cache
		"GOPROXY":     "file://" + proxy + ",file://" + filepath.Join(cache, "cache", "download") + "," + goproxy,
		"GOMODCACHE":  modcache,
		"GONOSUMDB":   repo,
		"GOPRIVATE":   "",
		"GONOPROXY":   "",
		"GOTOOLCHAIN": "local",
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		_, ok := set[k]
		return ok
	})
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

func goCommand(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
