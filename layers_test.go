package civiq_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOneWayIn checks that the handlers, the pages, the commands and their
// wiring reach the domain through the Engine's use cases only: none of
// their files, tests included, names civiq.Tx, so none opens a transaction
// of its own.
func TestOneWayIn(t *testing.T) {
	fset := token.NewFileSet()
	for _, dir := range []string{"api", "web", "cmd", "app"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, name := range civiqNames(f) {
				ast.Inspect(f, func(n ast.Node) bool {
					if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Tx" {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == name {
							t.Errorf("%s: names civiq.Tx: call an Engine use case instead", fset.Position(sel.Pos()))
						}
					}
					return true
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// civiqNames are the names under which f imports the domain package.
func civiqNames(f *ast.File) []string {
	var out []string
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/civiq/civiq" {
			name := "civiq"
			if imp.Name != nil {
				name = imp.Name.Name
			}
			out = append(out, name)
		}
	}
	return out
}
