// Package xlsxfile writes the Excel workbooks civiq gives for spreadsheets
// (Office Open XML, .xlsx), by the convention of package csvfile: a header
// row in Chinese, then one row per record; every cell is text, so that a
// number with leading zeros (a code, an id) stays as written; and every
// cell that a spreadsheet would take for a formula is guarded with an
// apostrophe by csvfile.Guard, so that a file saved from it as CSV later
// never runs a citizen's words. Rows are streamed: a day's records of a
// large hall need not fit in memory twice.
package xlsxfile

import (
	"io"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/civiq/civiq/csvfile"
)

// ContentType is the media type of the files.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// maxCell is the most characters a cell of a workbook holds.
const maxCell = 32767

// Writer writes one sheet's records by the convention.
type Writer struct {
	f     *excelize.File
	sw    *excelize.StreamWriter
	row   int
	err   error
	cells []any
}

// NewWriter returns a Writer of a workbook with one sheet of that name.
func NewWriter(sheet string) (*Writer, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{f: f, sw: sw}, nil
}

// Write writes one record (the first is the header), each cell guarded
// and kept as text.
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	w.row++
	w.cells = w.cells[:0]
	for _, c := range record {
		c = csvfile.Guard(c)
		if utf8.RuneCountInString(c) > maxCell {
			c = string([]rune(c)[:maxCell])
		}
		w.cells = append(w.cells, excelize.Cell{Value: c})
	}
	cell, err := excelize.CoordinatesToCellName(1, w.row)
	if err == nil {
		err = w.sw.SetRow(cell, w.cells)
	}
	w.err = err
	return err
}

// WriteTo finishes the workbook and writes it to out; the Writer is done
// with after it.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	defer w.f.Close()
	if w.err != nil {
		return 0, w.err
	}
	if err := w.sw.Flush(); err != nil {
		return 0, err
	}
	return w.f.WriteTo(out)
}
