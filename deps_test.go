package civiq_test

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// goList runs go list -deps over the packages and gives, for each package
// they depend on (themselves included) that is not in the standard library,
// its imports.
func goList(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{join .Imports \" \"}}{{end}}"}, pkgs...)
	out, err := exec.Command(gobin, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	return deps
}

const module = "github.com/civiq/civiq"

// TestDomainDependsOnStandardLibrary: the domain (the root package) imports
// the standard library and golang.org/x/crypto only (what x/crypto itself
// needs is its own business): no database, no HTTP framework, no other
// package of civiq.
func TestDomainDependsOnStandardLibrary(t *testing.T) {
	if os.Getenv("CIVIQ_TEST_STORE") == "postgres" {
		t.Skip("the same on every store: checked on the SQLite run")
	}
	deps := goList(t, ".")
	// Walk the imports from the root, not into x/crypto.
	seen := map[string]bool{}
	var walk func(pkg, from string)
	walk = func(pkg, from string) {
		if seen[pkg] {
			return
		}
		seen[pkg] = true
		imports, ours := deps[pkg]
		if !ours {
			return // the standard library
		}
		switch {
		case pkg == module:
		case strings.HasPrefix(pkg, "golang.org/x/crypto/"):
			return
		default:
			t.Errorf("the domain reaches %s (imported by %s): it may import only the standard library and golang.org/x/crypto", pkg, from)
			return
		}
		for _, imp := range imports {
			walk(imp, pkg)
		}
	}
	walk(module, "")
	if !seen[module] {
		t.Fatalf("go list did not list %s: %v", module, deps)
	}
}

// TestNoStoreBelowTheCodecs: the simulator, the file codecs and the API
// link no store: no sqlstore, no postgres, no SQL driver. (The simulator
// takes a civiq.Store from its caller; only app/ and cmd/ open stores.)
func TestNoStoreBelowTheCodecs(t *testing.T) {
	if os.Getenv("CIVIQ_TEST_STORE") == "postgres" {
		t.Skip("the same on every store: checked on the SQLite run")
	}
	stores := []string{module + "/sqlstore", module + "/postgres", "modernc.org/", "github.com/jackc/pgx"}
	for _, pkg := range []string{"sim", "guidefile", "csvfile", "xlsxfile", "ical", "api"} {
		deps := goList(t, "./"+pkg)
		if _, ok := deps[module+"/"+pkg]; !ok {
			t.Fatalf("go list did not list %s/%s", module, pkg)
		}
		for _, dep := range slices.Sorted(maps.Keys(deps)) {
			for _, s := range stores {
				if dep == s || strings.HasPrefix(dep, s) && (strings.HasSuffix(s, "/") || strings.HasPrefix(dep, s+"/")) {
					t.Errorf("%s depends on %s: it must not link a store", pkg, dep)
				}
			}
		}
	}
}

// TestPushAndWeChatStandardLibrary: packages webpush (VAPID, the
// encryption, the sender) and wechat (the Official Account's API) are the
// standard library alone: no other package of civiq, no module.
func TestPushAndWeChatStandardLibrary(t *testing.T) {
	if os.Getenv("CIVIQ_TEST_STORE") == "postgres" {
		t.Skip("the same on every store: checked on the SQLite run")
	}
	for _, pkg := range []string{"webpush", "wechat"} {
		for dep := range goList(t, "./"+pkg) {
			if dep != module+"/"+pkg {
				t.Errorf("%s depends on %s: it must use the standard library only", pkg, dep)
			}
		}
	}
}
