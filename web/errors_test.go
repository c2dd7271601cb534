package web

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/civiq/civiq"
)

// Every error code the domain declares (errors.go) has its answer in
// pageErrors, on a page that exists, with words in every catalogue.
func TestPageErrorsCoverEveryCode(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "../errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			for i, n := range sp.(*ast.ValueSpec).Names {
				lit, ok := sp.(*ast.ValueSpec).Values[i].(*ast.BasicLit)
				if !strings.HasPrefix(n.Name, "E") || !ok {
					continue
				}
				codes++
				if _, ok := pageErrors[strings.Trim(lit.Value, `"`)]; !ok {
					t.Errorf("code %s (%s) has no answer in pageErrors", n.Name, lit.Value)
				}
			}
		}
	}
	if codes < 10 {
		t.Errorf("found %d codes in errors.go", codes)
	}
	for code, a := range pageErrors {
		if s.pages[a.Page] == nil {
			t.Errorf("%s: no page %q", code, a.Page)
		}
		for _, l := range Languages {
			for _, k := range []string{a.Title, a.Text} {
				if _, ok := s.catalogs[l][k]; !ok {
					t.Errorf("%s: key %q is not in the %s catalogue", code, k, l)
				}
			}
		}
	}
}

// An error's status, page and headers come from the table; a 5xx is logged
// with the route and the request id, never the address it was asked at.
func TestFail(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	for _, c := range []struct {
		err    error
		status int
		text   string // in the page
		logged bool
	}{
		{civiq.Errorf(civiq.ENotFound, "no hall"), 404, "页面不存在", false},
		{civiq.FieldErrorf("date", "bad date"), 400, "请求有误", false},
		{civiq.Errorf(civiq.ESlotFull, "full"), 409, "操作与当前状态不符", false},
		{civiq.Errorf(civiq.ERateLimited, "slow down"), 429, "操作过于频繁", false},
		{civiq.Errorf(civiq.EForbidden, "no"), 403, "没有权限", false},
		{civiq.Errorf(civiq.EUnavailable, "storage is not available"), 503, "系统暂时不可用", true},
		{errors.New("disk on fire"), 500, "系统出错了", true},
		{civiq.Errorf("a_code_nobody_declared", "?"), 500, "系统出错了", true},
	} {
		logs.Reset()
		mux := http.NewServeMux()
		mux.HandleFunc("GET /t/{id}", func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, c.err) })
		w := httptest.NewRecorder()
		w.Header().Set("X-Request-Id", "req-42")
		mux.ServeHTTP(w, httptest.NewRequest("GET", "/t/13800138000?phone=13800138000", nil))
		if w.Code != c.status {
			t.Errorf("%v: status %d, want %d", c.err, w.Code, c.status)
		}
		if body := w.Body.String(); !strings.Contains(body, c.text) || !strings.Contains(body, `<html lang="zh-CN">`) {
			t.Errorf("%v: the page lacks %q:\n%s", c.err, c.text, body)
		}
		if ra := w.Header().Get("Retry-After"); (ra != "") != (c.status == 503) {
			t.Errorf("%v: Retry-After %q", c.err, ra)
		}
		log := logs.String()
		if c.logged != (log != "") {
			t.Errorf("%v: logged %q", c.err, log)
		}
		if c.logged && (!strings.Contains(log, "request_id=req-42") || !strings.Contains(log, `route="GET /t/{id}"`)) {
			t.Errorf("%v: log %q lacks the request id or the route", c.err, log)
		}
		if strings.Contains(log, "13800138000") {
			t.Errorf("%v: log %q holds the address", c.err, log)
		}
	}
}
