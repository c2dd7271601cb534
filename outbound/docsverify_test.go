package outbound_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/civiq/civiq/outbound/webhooktest"
)

// TestDocsPythonVerifier runs the Python verifier docs/api.md prints (the
// one a receiver copies) on a message civiq signed and sent: it verifies,
// and a changed body, another secret or a header missing or malformed is
// False, not an exception (a receiver's 500 instead of its 401).
func TestDocsPythonVerifier(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CIVIQ_REQUIRE_PYTHON") == "1" {
			t.Fatal("python3 is not installed, and CIVIQ_REQUIRE_PYTHON=1")
		}
		t.Skip("python3 is not installed: the docs' Python verifier is not run (CIVIQ_REQUIRE_PYTHON=1 makes this a failure)")
	}
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(doc), "\nPython:\n")
	_, code, ok := strings.Cut(after, "```python\n")
	code, _, ok2 := strings.Cut(code, "\n```")
	if !ok || !ok2 || !strings.Contains(code, "def verify(") {
		t.Fatal("docs/api.md: no Python verifier after \"Python:\"")
	}

	s := node(t)
	rc := webhooktest.New(t)
	var (
		mu   sync.Mutex
		head http.Header
		body []byte
	)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		head = r.Header.Clone()
		return true
	})
	h := createHook(t, s, rc, "*")
	announce(t, s, 1)
	waitFor(t, "1 message", func() bool { return rc.Len() == 1 })
	body = rc.Messages()[0].Body
	mu.Lock()
	hdr := map[string]string{}
	for k := range head {
		hdr[strings.ToLower(k)] = head.Get(k)
	}
	mu.Unlock()

	type check struct {
		Name    string            `json:"name"`
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"` // base64
		Want    bool              `json:"want"`
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range hdr {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	b64 := base64.StdEncoding.EncodeToString
	checks := []check{
		{"as sent", h.Secret, hdr, b64(body), true},
		{"body changed", h.Secret, hdr, b64(append([]byte(" "), body...)), false},
		{"another secret", "whsec_" + b64(make([]byte, 32)), hdr, b64(body), false},
		{"no webhook-id", h.Secret, with("webhook-id", ""), b64(body), false},
		{"no signature", h.Secret, with("webhook-signature", ""), b64(body), false},
		{"timestamp not a number", h.Secret, with("webhook-timestamp", "soon"), b64(body), false},
		{"signature not base64", h.Secret, with("webhook-signature", "v1,A"), b64(body), false},
		{"timestamp too large for a float", h.Secret, with("webhook-timestamp", strings.Repeat("9", 400)), b64(body), false},
	}
	dir := t.TempDir()
	in, _ := json.Marshal(checks)
	if err := os.WriteFile(filepath.Join(dir, "checks.json"), in, 0o600); err != nil {
		t.Fatal(err)
	}
	script := code + `

import json, sys
out = []
for c in json.load(open(sys.argv[1])):
    try:
        out.append(verify(c["secret"], c["headers"], base64.b64decode(c["body"])))
    except Exception as e:
        out.append("raised " + type(e).__name__)
print(json.dumps(out))
`
	if err := os.WriteFile(filepath.Join(dir, "verify.py"), []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(py, filepath.Join(dir, "verify.py"), filepath.Join(dir, "checks.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, res)
	}
	var got []any
	if err := json.Unmarshal(res, &got); err != nil || len(got) != len(checks) {
		t.Fatalf("python said %s", res)
	}
	for i, c := range checks {
		if got[i] != c.Want {
			t.Errorf("%s: verify gave %v, want %v", c.Name, got[i], c.Want)
		}
	}
}
