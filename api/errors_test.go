package api

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
)

// TestErrorCodes reads the domain's sources: every error code is declared
// in errors.go, and each has its HTTP status in statuses.
func TestErrorCodes(t *testing.T) {
	files, err := filepath.Glob("../*.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if len(id.Name) < 2 || id.Name[0] != 'E' || !('A' <= id.Name[1] && id.Name[1] <= 'Z') || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					code, _ := strconv.Unquote(lit.Value)
					if filepath.Base(name) != "errors.go" {
						t.Errorf("%s declares the error code %s (%q): every code goes in errors.go", name, id.Name, code)
					}
					if _, ok := statuses[code]; !ok {
						t.Errorf("error code %s (%q) has no HTTP status in statuses", id.Name, code)
					}
					codes++
				}
			}
		}
	}
	if codes < len(statuses) {
		t.Errorf("found %d error codes, fewer than the %d statuses", codes, len(statuses))
	}
}

// A ticket's answer is the bytes encoding/json writes for {"ticket": t},
// with its length, whether the ticket's own encoder writes it or (a time
// it cannot write) encoding/json.
func TestTicketAnswerBytes(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 30, 0, 5, time.FixedZone("CST", 8*3600))
	pos := 4
	for _, tk := range []*civiq.Ticket{
		{ID: "T1", HallID: "demo", ServiceID: "general", Number: "A001", Channel: "kiosk", Priority: "normal", Status: "waiting", IssuedAt: at, Position: &pos, ETASeconds: &pos},
		{ID: "T2", HallID: "demo", ServiceID: "<tax>", Number: "C001", Status: "called", IssuedAt: at, CalledAt: &at, CounterID: "3", OnBehalf: &civiq.OnBehalf{Role: "家属"}},
		{ID: "T3", IssuedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // encoding/json refuses it too: 201 and no body
		nil,
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(map[string]any{"ticket": tk}); err != nil {
			want.Reset()
		}
		w := httptest.NewRecorder()
		writeJSON(w, http.StatusCreated, ticketAnswer{tk})
		if w.Body.String() != want.String() || w.Header().Get("Content-Length") != strconv.Itoa(want.Len()) || w.Code != http.StatusCreated {
			t.Errorf("answer %d %q (length %s), want %q", w.Code, w.Body, w.Header().Get("Content-Length"), want.String())
		}
	}
}
