// Package escpos writes receipts for ESC/POS thermal printers: text in the
// printer's Chinese character mode, sizes, alignment, a QR code drawn by the
// printer itself, and the paper cut.
//
// Text is sent in GB18030, the character set of the Chinese mode (FS &) of
// the 58 and 80 mm printers sold in mainland China (GB18030 is a superset of
// GBK and GB2312, so older printers print the common characters too). ASCII
// is the same in GB18030, so English receipts print on any ESC/POS printer;
// a printer without a Chinese mode ignores FS & and prints Chinese as
// garbage, which is why civiq does not target UTF-8 modes that only a few
// printers have.
//
// Control characters in text are dropped, so text taken from a database
// (a hall's name) can never smuggle a printer command in.
package escpos

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// The command bytes used here.
const (
	ESC = 0x1b
	GS  = 0x1d
	FS  = 0x1c
	LF  = 0x0a
)

// Align is a text alignment for ESC a.
type Align byte

// Alignments.
const (
	Left   Align = 0
	Center Align = 1
	Right  Align = 2
)

// Level is a QR code's error correction level for GS ( k function 169.
type Level byte

// QR error correction levels: about 7, 15, 25 and 30 % of the code may be
// lost.
const (
	LevelL Level = '0'
	LevelM Level = '1'
	LevelQ Level = '2'
	LevelH Level = '3'
)

// MaxQRData is the most a QR code may hold: version 40 at level L in byte
// mode. Printers may refuse less; a ticket's URL is far below it.
const MaxQRData = 2953

// Doc is a receipt being written. Each method appends its command and
// returns the Doc, so calls chain; the first error sticks and is returned
// by Bytes.
type Doc struct {
	buf []byte
	err error
}

// New starts a receipt: it resets the printer (ESC @) and turns on its
// Chinese character mode (FS &).
func New() *Doc {
	return &Doc{buf: []byte{ESC, '@', FS, '&'}}
}

// Bytes returns the receipt, or the first error met while writing it.
func (d *Doc) Bytes() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	return d.buf, nil
}

func (d *Doc) fail(err error) *Doc {
	if d.err == nil {
		d.err = err
	}
	return d
}

// Align sets the alignment of the lines that follow (ESC a n).
func (d *Doc) Align(a Align) *Doc {
	if a > Right {
		return d.fail(fmt.Errorf("escpos: alignment %d", a))
	}
	d.buf = append(d.buf, ESC, 'a', byte(a))
	return d
}

// Size sets the character width and height multipliers, 1 to 8 each
// (GS ! n). Size(1, 1) is the normal size.
func (d *Doc) Size(w, h int) *Doc {
	if w < 1 || w > 8 || h < 1 || h > 8 {
		return d.fail(fmt.Errorf("escpos: size %dx%d is outside 1..8", w, h))
	}
	d.buf = append(d.buf, GS, '!', byte((w-1)<<4|(h-1)))
	return d
}

// Bold turns emphasis on or off (ESC E n).
func (d *Doc) Bold(on bool) *Doc {
	n := byte(0)
	if on {
		n = 1
	}
	d.buf = append(d.buf, ESC, 'E', n)
	return d
}

// Text appends text in GB18030. Newlines are kept; other control
// characters are dropped and invalid UTF-8 becomes '?'.
func (d *Doc) Text(s string) *Doc {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(Clean(s)))
	if err != nil {
		return d.fail(fmt.Errorf("escpos: encode text: %w", err))
	}
	d.buf = append(d.buf, b...)
	return d
}

// Line appends text and ends the line.
func (d *Doc) Line(s string) *Doc {
	d.Text(s)
	d.buf = append(d.buf, LF)
	return d
}

// Feed prints what is buffered and feeds n lines, 0 to 255 (ESC d n).
func (d *Doc) Feed(n int) *Doc {
	if n < 0 || n > 255 {
		return d.fail(fmt.Errorf("escpos: feed %d lines", n))
	}
	d.buf = append(d.buf, ESC, 'd', byte(n))
	return d
}

// QR prints data as a QR code (model 2) drawn by the printer, with modules
// of size dots (1 to 16) and the given error correction: GS ( k functions
// 165 (model), 167 (size), 169 (level), 180 (store) and 181 (print).
func (d *Doc) QR(data string, size int, level Level) *Doc {
	switch {
	case data == "":
		return d.fail(errors.New("escpos: empty QR code"))
	case len(data) > MaxQRData:
		return d.fail(fmt.Errorf("escpos: QR data of %d bytes is over %d", len(data), MaxQRData))
	case size < 1 || size > 16:
		return d.fail(fmt.Errorf("escpos: QR module size %d is outside 1..16", size))
	case level < LevelL || level > LevelH:
		return d.fail(fmt.Errorf("escpos: QR level %q", level))
	}
	d.buf = append(d.buf,
		GS, '(', 'k', 4, 0, '1', 'A', '2', 0, // model 2
		GS, '(', 'k', 3, 0, '1', 'C', byte(size),
		GS, '(', 'k', 3, 0, '1', 'E', byte(level),
	)
	n := len(data) + 3
	d.buf = append(d.buf, GS, '(', 'k', byte(n), byte(n>>8), '1', 'P', '0')
	d.buf = append(d.buf, data...)
	d.buf = append(d.buf, GS, '(', 'k', 3, 0, '1', 'Q', '0')
	return d
}

// Cut feeds the paper past the cutter and cuts it, leaving a small hinge
// (GS V 66 n, with n feed lines).
func (d *Doc) Cut() *Doc {
	d.buf = append(d.buf, GS, 'V', 66, 3)
	return d
}

// Clean makes s safe to print: valid UTF-8, no control character but the
// newline, and '?' for characters of the private use area, which no
// printer shows and which GB18030 editions map differently.
func Clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, odd) {
		return s
	}
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		switch {
		case isControl(r):
			return -1
		case unicode.Is(unicode.Co, r):
			return '?'
		}
		return r
	}, s)
}

func odd(r rune) bool { return isControl(r) || unicode.Is(unicode.Co, r) }

func isControl(r rune) bool {
	return r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0))
}
