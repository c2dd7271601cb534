package guidefile_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/guidefile"
)

// checkParse runs an import parser and the checks after it on any input:
// nothing panics, every fault has a message and a line in the file, and a
// file that passes is written and read back to as many guides.
func checkParse(t *testing.T, format string, data []byte) {
	rows, errs := guidefile.Read(format, data)
	lines := bytes.Count(data, []byte("\n")) + 1
	checkErrs := func(errs civiq.ImportErrors) {
		for _, e := range errs {
			if e.Message == "" || e.Line < 0 || e.Line > lines {
				t.Fatalf("bad import error %+v for a file of %d lines", e, lines)
			}
		}
	}
	checkErrs(errs)
	if rows == nil {
		return
	}
	known := map[string]bool{"general": true, "property": true, "tax": true, "social": true}
	more := civiq.CheckGuideRows(rows, known)
	checkErrs(more)
	if len(errs) > 0 || len(more) > 0 {
		return
	}
	gs := make([]civiq.Guide, len(rows))
	for i := range rows {
		gs[i] = rows[i].Guide
	}
	var buf bytes.Buffer
	if err := guidefile.WriteCSV(&buf, gs); err != nil {
		t.Fatalf("write CSV: %v", err)
	}
	back, errs := guidefile.Read(guidefile.CSV, buf.Bytes())
	if len(errs) > 0 || len(back) != len(gs) {
		t.Fatalf("a good file written as CSV reads back as %d guides, %v; want %d", len(back), errs, len(gs))
	}
	js, err := json.Marshal(guidefile.Export{Guides: gs})
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	back, errs = guidefile.Read(guidefile.JSON, js)
	if len(errs) > 0 || len(back) != len(gs) {
		t.Fatalf("a good file written as JSON reads back as %d guides, %v; want %d", len(back), errs, len(gs))
	}
}

func FuzzParseGuidesCSV(f *testing.F) {
	f.Add([]byte("\uFEFF事项名称(name),排队业务(service_id),是否收费(fee),收费项目(fees),材料名称(material_name),份数(material_copies)\r\n" +
		"甲,general,是,工本费|10元/本,申请表,1\r\n,,,,身份证,2\r\n\r\n乙,tax,否,,'=x,\r\n"))
	f.Add([]byte("name,service_id\n甲,general\n"))
	f.Add([]byte("name,service_id,material_name\n,,a\n"))
	f.Add([]byte("\"name\",service_id\n\"a\"\"b\",general\n"))
	f.Add([]byte("name,service_id,fees,fee\n甲,general,\"a|b\nc|d|e\",是\n"))
	f.Add([]byte("事项名称(name),排队业务(service_id),份数(material_copies)\n甲,tax,x\n"))
	f.Add([]byte("\xEF\xBB\xBF"))
	f.Add([]byte("name\n\"unterminated\n"))
	if gs, err := civiq.DemoGuides(); err == nil {
		var buf bytes.Buffer
		guidefile.WriteCSV(&buf, gs[:3])
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, guidefile.CSV, data) })
}

func FuzzParseGuidesJSON(f *testing.F) {
	f.Add([]byte(`{"guides":[{"name":"甲","service_id":"general","materials":[{"name":"表"}]}]}`))
	f.Add([]byte(`[{"name":"甲","service_id":"general"}, 3, "x", null]`))
	f.Add([]byte(`{"a":1,"guides":[{"name":1}]}`))
	f.Add([]byte(`{"guides":{}}`))
	f.Add([]byte("[\n{\"name\": \"甲\",\n\"service_id\": general}\n]"))
	f.Add([]byte(`[{"name":"甲","service_id":"general","materials":[{"name":"a","copies":"2"}],"extra":true}]`))
	f.Add([]byte(`[`))
	f.Add([]byte(`[] []`))
	if gs, err := civiq.DemoGuides(); err == nil {
		b, _ := json.Marshal(guidefile.Export{Guides: gs[:3]})
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, guidefile.JSON, data) })
}
