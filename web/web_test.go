package web

import (
	"encoding/json"
	"io/fs"
	"testing"
)

// Every key of the Chinese catalogue has an English entry and the other way
// round: a page never shows a bare key.
func TestCataloguesMatch(t *testing.T) {
	s := &Site{}
	if err := s.load(); err != nil {
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
