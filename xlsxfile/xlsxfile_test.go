package xlsxfile_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/civiq/civiq/xlsxfile"
)

// readSheet reads the first sheet of a workbook with the standard library
// alone (zip and XML), apart from the library that wrote it: each row's
// cells as text, by their column, with the cell's type.
func readSheet(t *testing.T, data []byte) (rows [][]string, types map[string]bool) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} {
		if files[name] == nil {
			t.Fatalf("the workbook has no %s", name)
		}
	}
	var shared []string
	if b := files["xl/sharedStrings.xml"]; b != nil {
		var sst struct {
			SI []struct {
				T string `xml:"t"`
				R []struct {
					T string `xml:"t"`
				} `xml:"r"`
			} `xml:"si"`
		}
		if err := xml.Unmarshal(b, &sst); err != nil {
			t.Fatal(err)
		}
		for _, si := range sst.SI {
			s := si.T
			for _, r := range si.R {
				s += r.T
			}
			shared = append(shared, s)
		}
	}
	var ws struct {
		Rows []struct {
			C []struct {
				R  string `xml:"r,attr"`
				T  string `xml:"t,attr"`
				V  string `xml:"v"`
				F  string `xml:"f"`
				IS struct {
					T string `xml:"t"`
				} `xml:"is"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	if err := xml.Unmarshal(files["xl/worksheets/sheet1.xml"], &ws); err != nil {
		t.Fatal(err)
	}
	types = map[string]bool{}
	for _, r := range ws.Rows {
		var row []string
		for _, c := range r.C {
			if c.F != "" {
				t.Errorf("cell %s holds a formula %q", c.R, c.F)
			}
			col := strings.TrimRight(c.R, "0123456789")
			for len(row) < int(col[0]-'A') {
				row = append(row, "")
			}
			types[c.T] = true
			switch c.T {
			case "s":
				i, _ := strconv.Atoi(c.V)
				row = append(row, shared[i])
			case "inlineStr":
				row = append(row, c.IS.T)
			default:
				row = append(row, c.V)
			}
		}
		rows = append(rows, row)
	}
	return rows, types
}

// TestWorkbook writes a header and rows with Chinese, leading zeros, a
// formula typed by a citizen and a line break, and reads them back
// independently: the same text, every cell a string, the formula guarded
// as csvfile guards it.
func TestWorkbook(t *testing.T) {
	w, err := xlsxfile.NewWriter("好差评")
	if err != nil {
		t.Fatal(err)
	}
	in := [][]string{
		{"办件编号", "事项编码", "评价等级名称", "差评内容"},
		{"2027031500010001", "0012330100", "不满意", "=HYPERLINK(\"http://x\")"},
		{"A001", "", "非常满意", "第一行\n第二行"},
		{"-1", "+86", "@x", "普通"},
	}
	for _, r := range in {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	rows, types := readSheet(t, buf.Bytes())
	want := [][]string{in[0], in[1], in[2], in[3]}
	want[1] = []string{"2027031500010001", "0012330100", "不满意", "'=HYPERLINK(\"http://x\")"}
	want[3] = []string{"'-1", "'+86", "'@x", "普通"}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		// A row read back may lack its empty cells at the end.
		got := rows[i]
		for len(got) < len(want[i]) {
			got = append(got, "")
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("row %d = %q, want %q", i, got, want[i])
		}
	}
	for typ := range types {
		if typ != "s" && typ != "inlineStr" && typ != "str" {
			t.Errorf("a cell of type %q: every cell is text", typ)
		}
	}
}

// TestNoRows: a workbook of the header alone is a valid workbook.
func TestNoRows(t *testing.T) {
	w, err := xlsxfile.NewWriter("Sheet")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]string{"记录编号"})
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if rows, _ := readSheet(t, buf.Bytes()); len(rows) != 1 || rows[0][0] != "记录编号" {
		t.Errorf("rows %q", rows)
	}
}
