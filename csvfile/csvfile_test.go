package csvfile_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/civiq/civiq/csvfile"
)

// TestConvention writes a file and checks the three parts of the
// convention: the byte order mark first, CRLF line ends (encoding/csv
// writes a line break inside a quoted cell as CRLF too, and drops a lone
// CR), and formulas guarded.
func TestConvention(t *testing.T) {
	var buf bytes.Buffer
	w := csvfile.NewWriter(&buf)
	w.Write([]string{"姓名", "备注"})
	w.Write([]string{"=HYPERLINK(\"http://evil\")", "+86 138", "-5", "@SUM(A1)", "\tx", "\rx", "a=b", "'=kept", ""})
	w.Write([]string{"line\nbreak", "1,2"})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\xEF\xBB\xBF姓名,备注\r\n" +
		"\"'=HYPERLINK(\"\"http://evil\"\")\",'+86 138,'-5,'@SUM(A1),'\tx,\"'x\",a=b,''=kept,\r\n" +
		"\"line\r\nbreak\",\"1,2\"\r\n"
	if got := buf.String(); got != want {
		t.Errorf("file =\n%q\nwant\n%q", got, want)
	}
}

// TestGuardTable names each first character a spreadsheet reads as a
// formula, and some it does not.
func TestGuardTable(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"=1+1", "'=1+1"}, {"+1", "'+1"}, {"-1", "'-1"}, {"@A1", "'@A1"}, {"\t=1", "'\t=1"}, {"\r=1", "'\r=1"},
		{"", ""}, {"1", "1"}, {"办结", "办结"}, {" =1", " =1"}, {"'", "'"}, {"a-b", "a-b"},
		{"'=1", "''=1"}, {"''-1", "'''-1"}, {"'a", "'a"}, {"''", "''"},
	} {
		got := csvfile.Guard(tt.in)
		if got != tt.want {
			t.Errorf("Guard(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if back := csvfile.Unguard(got); back != tt.in {
			t.Errorf("Unguard(%q) = %q; want %q", got, back, tt.in)
		}
	}
}

// TestReadBack reads a written file with encoding/csv: the same cells come
// back once the byte order mark is trimmed and the guard taken off.
func TestReadBack(t *testing.T) {
	rec := []string{"=x", "a\r\nb", "\"q\"", "-", "普通"}
	var buf bytes.Buffer
	w := csvfile.NewWriter(&buf)
	w.Write(rec)
	w.Flush()
	got, err := csv.NewReader(bytes.NewReader(csvfile.TrimBOM(buf.Bytes()))).Read()
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = csvfile.Unguard(got[i])
	}
	// encoding/csv reads a quoted CRLF as LF.
	if want := []string{"=x", "a\nb", "\"q\"", "-", "普通"}; !slices.Equal(got, want) {
		t.Errorf("read back %q; want %q", got, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteError reports the first failure of the file it writes to.
func TestWriteError(t *testing.T) {
	w := csvfile.NewWriter(failWriter{})
	if err := w.Write([]string{"a"}); err == nil {
		t.Fatal("Write to a failing file: no error")
	}
	if err := w.Flush(); err == nil {
		t.Fatal("Flush after a failed write: no error")
	}
}

// FuzzGuard: a guarded cell never starts a formula, and Unguard gives
// every cell back as it was.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{"", "=1", "'=1", "''+", "'", "a", "\t", "-", "办结"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cell string) {
		g := csvfile.Guard(cell)
		if g != "" && strings.IndexByte("=+-@\t\r", g[0]) >= 0 {
			t.Fatalf("Guard(%q) = %q starts a formula", cell, g)
		}
		if back := csvfile.Unguard(g); back != cell {
			t.Fatalf("Unguard(Guard(%q)) = %q", cell, back)
		}
	})
}
