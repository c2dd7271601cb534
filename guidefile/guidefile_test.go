package guidefile_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/guidefile"
)

// TestCSVGuardsFormulas writes guides whose text a spreadsheet would run
// as a formula: the file holds them guarded, and reading the file gives
// the text back as it was.
func TestCSVGuardsFormulas(t *testing.T) {
	g := civiq.Guide{ID: "g1", ServiceID: "general", Name: "=HYPERLINK(\"http://x\")", Conditions: "-无", Basis: "'=已是文本",
		Keywords: []string{"@a"}, Materials: []civiq.Material{{Name: "+申请表", Notes: "\t注意"}}}
	var buf bytes.Buffer
	if err := guidefile.WriteCSV(&buf, []civiq.Guide{g}); err != nil {
		t.Fatal(err)
	}
	file := buf.String()
	if !strings.HasPrefix(file, "\xEF\xBB\xBF事项ID(id),") || !strings.Contains(file, "\r\n") {
		t.Errorf("the file starts %q; want a BOM, the header and CRLF", file[:40])
	}
	for _, want := range []string{`"'=HYPERLINK(""http://x"")"`, ",'-无,", ",'@a,", ",'+申请表,", ",'\t注意,"} {
		if !strings.Contains(file, want) {
			t.Errorf("the file has no %q:\n%s", want, file)
		}
	}
	rows, errs := guidefile.Read(guidefile.CSV, buf.Bytes())
	if len(errs) > 0 || len(rows) != 1 {
		t.Fatalf("read back %d rows, %v", len(rows), errs)
	}
	got := rows[0].Guide
	if got.Name != g.Name || got.Conditions != g.Conditions || got.Basis != g.Basis || len(got.Keywords) != 1 || got.Keywords[0] != "@a" ||
		len(got.Materials) != 1 || got.Materials[0].Name != "+申请表" || got.Materials[0].Notes != "\t注意" {
		t.Errorf("read back %+v", got)
	}
}

// TestMaterialEnglishName: a material's English name has its column
// (material_name_en, 材料英文名称) and comes back as written; a file
// without the column reads as before, the English name empty.
func TestMaterialEnglishName(t *testing.T) {
	g := civiq.Guide{ID: "g1", ServiceID: "general", Name: "社保卡申领",
		Materials: []civiq.Material{{Name: "申请表", NameEn: "Application form"}, {Name: "照片"}}}
	var buf bytes.Buffer
	if err := guidefile.WriteCSV(&buf, []civiq.Guide{g}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "材料英文名称(material_name_en)") {
		t.Errorf("no English name column in %q", strings.SplitN(buf.String(), "\r\n", 2)[0])
	}
	rows, errs := guidefile.Read(guidefile.CSV, buf.Bytes())
	if len(errs) > 0 || len(rows) != 1 || len(rows[0].Guide.Materials) != 2 {
		t.Fatalf("read back %d rows, %v", len(rows), errs)
	}
	if m := rows[0].Guide.Materials; m[0].NameEn != "Application form" || m[1].NameEn != "" {
		t.Errorf("English names read back: %q, %q", m[0].NameEn, m[1].NameEn)
	}
	rows, errs = guidefile.Read(guidefile.CSV, []byte("name,service_id,material_name\n社保卡申领,general,申请表\n"))
	if len(errs) > 0 || len(rows) != 1 || rows[0].Guide.Materials[0].Name != "申请表" || rows[0].Guide.Materials[0].NameEn != "" {
		t.Fatalf("a file without the column: %v, %v", rows, errs)
	}
}
