package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
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

// A failed request is logged with its route and request id, never its
// path: a ticket's path holds the ticket's id, its holder's key, which no
// log may hold.
func TestWriteErrorLogsRouteNotPath(t *testing.T) {
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	const id = "abcdefghijklmnopqrstuvwx"
	for _, err := range []error{civiq.Errorf(civiq.EUnavailable, "storage is not available"), errors.New("disk on fire")} {
		logs.Reset()
		mux := http.NewServeMux()
		mux.HandleFunc("POST /api/v1/tickets/{id}/rating", func(w http.ResponseWriter, r *http.Request) {
			r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, "req-42"))
			writeError(w, r, err)
		})
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/tickets/"+id+"/rating", nil))
		if w.Code < 500 {
			t.Fatalf("%v: status %d", err, w.Code)
		}
		log := logs.String()
		if !strings.Contains(log, "request_id=req-42") || !strings.Contains(log, `route="POST /api/v1/tickets/{id}/rating"`) {
			t.Errorf("%v: log %q lacks the request id or the route", err, log)
		}
		if strings.Contains(log, id) {
			t.Errorf("%v: log %q holds the ticket's id", err, log)
		}
	}
}
