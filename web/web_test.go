package web

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// Every key of the Chinese catalogue has an English entry and the other way
// round: a page never shows a bare key.
func TestCataloguesMatch(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	zh, en := s.catalogs["zh-CN"], s.catalogs["en"]
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q has no English entry", k)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("key %q has no Chinese entry", k)
		}
	}
	// Keys are unique across files of one language.
	for _, l := range Languages {
		seen := map[string]string{}
		files, _ := fs.Glob(localeFS, "locale/"+l+"/*.json")
		for _, f := range files {
			b, _ := localeFS.ReadFile(f)
			m := map[string]string{}
			json.Unmarshal(b, &m)
			for k := range m {
				if other, ok := seen[k]; ok {
					t.Errorf("%s: key %q is also in %s", f, k, other)
				}
				seen[k] = f
			}
		}
	}
}

// New parses every template once, at start, with the layout and checked.
func TestTemplatesParse(t *testing.T) {
	s, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	if len(s.pages) != len(names)-1 { // all but the layout
		t.Errorf("%d pages parsed from %d templates", len(s.pages), len(names))
	}
	for _, n := range []string{"home", "kiosk", "ticket", "display", "counter", "rate", "admin", "dashboard", "notfound"} {
		if s.pages[n] == nil {
			t.Errorf("page %s not parsed", n)
		}
	}
}

// A broken template stops New: a syntax error, markup html/template cannot
// escape, or a catalogue key that is not in every catalogue.
func TestBrokenTemplateFails(t *testing.T) {
	layout, _ := templateFS.ReadFile("templates/layout.html")
	files := func(page string) fstest.MapFS {
		m := fstest.MapFS{"templates/layout.html": {Data: layout}, "templates/x.html": {Data: []byte(page)}}
		for _, l := range Languages {
			b, _ := localeFS.ReadFile("locale/" + l + "/common.json")
			m["locale/"+l+"/common.json"] = &fstest.MapFile{Data: b}
		}
		return m
	}
	good := `{{define "content"}}<p>{{t .Lang "notfound.title"}}</p>{{end}}`
	s := &Site{}
	if err := s.load(files(good), files(good)); err != nil {
		t.Fatalf("good template: %v", err)
	}
	for _, c := range []struct{ name, page, want string }{
		{"syntax", `{{define "content"}}<p>{{if .Lang}}</p>{{end}}`, "x.html"},
		{"escape", `{{define "content"}}<a href="{{.Lang}}{{if .Title}}">{{end}}</a>{{end}}`, "x.html"},
		{"key", `{{define "content"}}<p>{{t .Lang "no.such.key"}}</p>{{end}}`, "no.such.key"},
		{"key in a pipe", `{{define "content"}}<p title="{{printf "%s" (t .Lang "no.such.key")}}"></p>{{end}}`, "no.such.key"},
	} {
		s := &Site{}
		err := s.load(files(c.page), files(c.page))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error naming %s", c.name, err, c.want)
		}
	}
}
