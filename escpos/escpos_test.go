package escpos

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// parse splits a receipt into commands and text runs, as a printer reads
// it; it fails on any byte it does not know. Text runs are decoded from
// GB18030.
func parse(b []byte) (cmds []string, text string, err error) {
	var txt []byte
	flush := func() error {
		if len(txt) == 0 {
			return nil
		}
		s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(txt)
		if err != nil {
			return err
		}
		text += string(s)
		txt = txt[:0]
		return nil
	}
	need := func(i, n int) error {
		if i+n > len(b) {
			return fmt.Errorf("command at %d cut short", i)
		}
		return nil
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c >= 0x20 && c != 0x7f {
			txt = append(txt, c)
			i++
			continue
		}
		if c == LF {
			txt = append(txt, c)
			i++
			continue
		}
		if err := flush(); err != nil {
			return nil, "", err
		}
		if err := need(i, 2); err != nil {
			return nil, "", err
		}
		op := string(b[i : i+2])
		switch op {
		case "\x1b@", "\x1c&":
			cmds = append(cmds, op)
			i += 2
		case "\x1ba", "\x1d!", "\x1bE", "\x1bd":
			if err := need(i, 3); err != nil {
				return nil, "", err
			}
			cmds = append(cmds, fmt.Sprintf("%s%d", op, b[i+2]))
			i += 3
		case "\x1dV":
			if err := need(i, 4); err != nil {
				return nil, "", err
			}
			cmds = append(cmds, fmt.Sprintf("%s%d,%d", op, b[i+2], b[i+3]))
			i += 4
		case "\x1d(":
			if err := need(i, 5); err != nil {
				return nil, "", err
			}
			if b[i+2] != 'k' {
				return nil, "", fmt.Errorf("GS ( %q at %d", b[i+2], i)
			}
			n := int(b[i+3]) | int(b[i+4])<<8
			if err := need(i+5, n); err != nil {
				return nil, "", err
			}
			cmds = append(cmds, "QR:"+string(b[i+5:i+5+n]))
			i += 5 + n
		default:
			return nil, "", fmt.Errorf("unknown command % x at %d", b[i:i+2], i)
		}
	}
	return cmds, text, flush()
}

func TestReceipt(t *testing.T) {
	b, err := New().Align(Center).Size(2, 3).Bold(true).Line("A005").Bold(false).Size(1, 1).
		Line("前方等待3人").QR("http://h/t/x", 6, LevelM).Feed(2).Cut().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{ESC, '@', FS, '&', ESC, 'a', 1, GS, '!', 0x12, ESC, 'E', 1, 'A', '0', '0', '5', LF, ESC, 'E', 0, GS, '!', 0}
	want = append(want, 0xc7, 0xb0, 0xb7, 0xbd, 0xb5, 0xc8, 0xb4, 0xfd, '3', 0xc8, 0xcb, LF) // 前方等待3人 in GB18030
	want = append(want,
		GS, '(', 'k', 4, 0, '1', 'A', '2', 0,
		GS, '(', 'k', 3, 0, '1', 'C', 6,
		GS, '(', 'k', 3, 0, '1', 'E', '1',
		GS, '(', 'k', 15, 0, '1', 'P', '0')
	want = append(want, "http://h/t/x"...)
	want = append(want, GS, '(', 'k', 3, 0, '1', 'Q', '0', ESC, 'd', 2, GS, 'V', 66, 3)
	if !bytes.Equal(b, want) {
		t.Fatalf("receipt\n got % x\nwant % x", b, want)
	}
	cmds, text, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if text != "A005\n前方等待3人\n" {
		t.Errorf("text %q", text)
	}
	if got := strings.Join(cmds, " "); !strings.Contains(got, "QR:1P0http://h/t/x") || !strings.HasSuffix(got, "\x1dV66,3") {
		t.Errorf("commands %q", got)
	}
}

// A long QR payload spreads its length over pL and pH.
func TestQRLength(t *testing.T) {
	data := strings.Repeat("x", 300)
	b, err := New().QR(data, 4, LevelH).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte{GS, '(', 'k', 303 & 0xff, 303 >> 8, '1', 'P', '0'})
	if i < 0 || !bytes.HasPrefix(b[i+8:], []byte(data)) {
		t.Fatalf("no store command for 300 bytes in % x", b)
	}
	if !bytes.Contains(b, []byte{GS, '(', 'k', 3, 0, '1', 'E', '3'}) {
		t.Error("level H not set")
	}
}

func TestErrors(t *testing.T) {
	for name, d := range map[string]*Doc{
		"size 0":       New().Size(0, 1),
		"size 9":       New().Size(1, 9),
		"align":        New().Align(3),
		"feed":         New().Feed(256),
		"empty QR":     New().QR("", 4, LevelM),
		"long QR":      New().QR(strings.Repeat("1", MaxQRData+1), 4, LevelM),
		"QR size":      New().QR("x", 17, LevelM),
		"QR level":     New().QR("x", 4, Level('4')),
		"first sticks": New().Size(0, 0).Line("ok").Cut(),
	} {
		if _, err := d.Bytes(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Text from a database cannot send a command: control characters go.
func TestTextCannotInject(t *testing.T) {
	b, err := New().Text("大厅\x1b@\x1dV\x00\x1c.\r\x7f\u0085名\n").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	cmds, text, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 || text != "大厅@V.名\n" {
		t.Fatalf("commands %q text %q", cmds, text)
	}
	if got := Clean("a\xffb"); got != "a?b" {
		t.Errorf("Clean of invalid UTF-8: %q", got)
	}
	if got := Clean("a\ue79fb"); got != "a?b" {
		t.Errorf("Clean of a private use character: %q", got)
	}
}

// Whatever text and QR data come in, the receipt parses into known commands
// and its text reads back as the cleaned input.
func FuzzDoc(f *testing.F) {
	for _, s := range []string{"", "A005", "示范政务服务大厅", "您已领取A005号，前方等待3人", "\x1b@\x00", "\xff\xfe", "𠀀😀", "\u0085\u2028"} {
		f.Add(s, s, 6)
	}
	f.Fuzz(func(t *testing.T, text, qr string, size int) {
		d := New().Align(Center).Size(3, 3).Line(text).Size(1, 1).Text(text)
		okQR := qr != "" && len(qr) <= MaxQRData && size >= 1 && size <= 16
		d.QR(qr, size, LevelM).Cut()
		b, err := d.Bytes()
		if !okQR {
			if err == nil {
				t.Fatalf("QR %q size %d: no error", qr, size)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		cmds, got, err := parse(b)
		if err != nil {
			t.Fatal(err)
		}
		c := Clean(text)
		if got != c+"\n"+c {
			t.Fatalf("text %q read back as %q", c+"\n"+c, got)
		}
		found := false
		for _, cmd := range cmds {
			if cmd == "QR:1P0"+qr {
				found = true
			}
		}
		if !found {
			t.Fatalf("QR data %q not stored in %q", qr, cmds)
		}
	})
}
