package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
