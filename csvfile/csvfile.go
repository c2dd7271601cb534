// Package csvfile writes the CSV files civiq gives for spreadsheets, all
// of them by one convention: UTF-8 with a byte order mark (so that
// spreadsheets read the Chinese right), CRLF line ends (what spreadsheets
// write), and every cell that a spreadsheet would take for a formula
// (starting with = + - @, a tab or a carriage return) prefixed with an
// apostrophe, so that a value typed by a citizen or a clerk is never run
// (CSV injection). Readers of civiq's own files take the apostrophe off
// again with Unguard.
package csvfile

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
)

// BOM is the UTF-8 byte order mark the files start with.
var BOM = []byte{0xEF, 0xBB, 0xBF}

// ContentType is the media type of the files.
const ContentType = "text/csv; charset=utf-8"

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula.
const formulaStarts = "=+-@\t\r"

// Guard keeps a spreadsheet from reading a cell as a formula. A cell that
// already starts with apostrophes before a formula's first character gets
// one more, so that Unguard gives every cell back as it was.
func Guard(cell string) string {
	if formula(cell) {
		return "'" + cell
	}
	return cell
}

// Unguard gives back the cell Guard was given: it takes off the apostrophe
// Guard put before a formula's first character.
func Unguard(cell string) string {
	if len(cell) > 1 && cell[0] == '\'' && formula(cell[1:]) {
		return cell[1:]
	}
	return cell
}

// formula tells whether the cell's first character after any apostrophes
// starts a formula.
func formula(cell string) bool {
	rest := strings.TrimLeft(cell, "'")
	return rest != "" && strings.IndexByte(formulaStarts, rest[0]) >= 0
}

// TrimBOM drops the byte order mark a file may start with.
func TrimBOM(data []byte) []byte { return bytes.TrimPrefix(data, BOM) }

// Writer writes records by the convention. The byte order mark goes out
// with the first record.
type Writer struct {
	w       io.Writer
	cw      *csv.Writer
	started bool
	err     error
	cells   []string
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &Writer{w: w, cw: cw}
}

// Write writes one record, each cell guarded.
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	if !w.started {
		w.started = true
		if _, err := w.w.Write(BOM); err != nil {
			w.err = err
			return err
		}
	}
	w.cells = w.cells[:0]
	for _, c := range record {
		w.cells = append(w.cells, Guard(c))
	}
	if err := w.cw.Write(w.cells); err != nil {
		w.err = err
	}
	return w.err
}

// Flush writes what is buffered and reports the first error of any write.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.cw.Flush()
	w.err = w.cw.Error()
	return w.err
}
