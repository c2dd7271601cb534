package civiq_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/civiq/civiq"
)

func TestIDCheckChar(t *testing.T) {
	tests := []struct{ first17, want string }{
		{"11010519491231002", "X"}, // the example of GB 11643 itself
		{"44052418800101001", "4"},
		{"11010119900307123", "3"},
		{"11010119900307001", "1"},
		{"51010819770115001", "9"},
		{"1101051949123100", ""},   // 16 digits
		{"110105194912310021", ""}, // 18
		{"1101051949123100A", ""},  // not a digit
	}
	for _, tt := range tests {
		got := ""
		if c := civiq.IDCheckChar(tt.first17); c != 0 {
			got = string(c)
		}
		if got != tt.want {
			t.Errorf("IDCheckChar(%q) = %q; want %q", tt.first17, got, tt.want)
		}
	}
}

func TestParseIDNumber(t *testing.T) {
	tests := []struct {
		in, want string // want "" for invalid
	}{
		{"11010519491231002X", "11010519491231002X"},
		{"11010519491231002x", "11010519491231002X"}, // lower-case x
		{" 440524188001010014 ", "440524188001010014"},
		{"110101199003071233", "110101199003071233"},
		{"110101199003070011", "110101199003070011"},
		{"510108197701150019", "510108197701150019"},
		{"110105194912310021", ""},  // wrong check digit (should be X)
		{"11010519491231002Y", ""},  // not a check character
		{"440524188001010015", ""},  // wrong check digit
		{"110101199002300012", ""},  // 30 February
		{"110101199013010011", ""},  // month 13
		{"110101179912310011", ""},  // before 1800
		{"010101199003070011", ""},  // no region code
		{"11010519491231002", ""},   // 17 characters
		{"1101051949123100200", ""}, // 19
		{"11010519491231００2X", ""},  // full-width digits
		{"", ""},
		{"X1010519491231002X", ""},
	}
	for _, tt := range tests {
		got, err := civiq.ParseIDNumber(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseIDNumber(%q) = %q; want an error", tt.in, got)
				continue
			}
			wantErr(t, err, civiq.EInvalidIDNumber, "id_number")
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseIDNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// Every check character, X included, is accepted when right and
	// refused when any other.
	seen := map[byte]bool{}
	for n := 0; len(seen) < 11 && n < 1000; n++ {
		first := "11010119900307" + pad4(n)[1:]
		c := civiq.IDCheckChar(first)
		seen[c] = true
		for _, other := range "0123456789X" {
			id := first + string(other)
			_, err := civiq.ParseIDNumber(id)
			if (byte(other) == c) != (err == nil) {
				t.Fatalf("ParseIDNumber(%q) = %v with check char %c", id, err, c)
			}
		}
	}
	if len(seen) != 11 {
		t.Errorf("only %d check characters seen", len(seen))
	}
}

func pad4(n int) string {
	s := "0000" + itoa(n%10000)
	return s[len(s)-4:]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestMasks(t *testing.T) {
	for _, tt := range []struct {
		fn       func(string) string
		in, want string
	}{
		{civiq.MaskIDNumber, "11010519491231002X", "110***********002X"},
		{civiq.MaskIDNumber, "440524188001010014", "440***********0014"},
		{civiq.MaskIDNumber, "1234", "****"},
		{civiq.MaskName, "张三", "张*"},
		{civiq.MaskName, "欧阳修文", "欧***"},
		{civiq.MaskName, "张", "张*"},
		{civiq.MaskName, "", ""},
		{civiq.MaskPhone, "13812345678", "138****5678"},
	} {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("mask(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	if got := civiq.Last4(" 11010519491231002x"); got != "002X" {
		t.Errorf("Last4 = %q", got)
	}
}

func testSealer(t testing.TB) *civiq.Sealer {
	t.Helper()
	s, err := civiq.NewSealer(bytes.Repeat([]byte{7}, civiq.SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealer(t *testing.T) {
	s := testSealer(t)
	a, b := s.Seal("11010519491231002X"), s.Seal("11010519491231002X")
	if a == b {
		t.Error("two seals of one value are equal: the nonce must be random")
	}
	if strings.Contains(a, "1101") {
		t.Errorf("sealed text shows the value: %s", a)
	}
	for _, sealed := range []string{a, b} {
		if got, err := s.Open(sealed); err != nil || got != "11010519491231002X" {
			t.Errorf("Open = %q, %v", got, err)
		}
	}
	other, _ := civiq.NewSealer(bytes.Repeat([]byte{8}, civiq.SecretKeySize))
	if _, err := other.Open(a); err == nil {
		t.Error("a sealed value opens with another key")
	}
	damaged := a[:len(a)-2] + "AA"
	if damaged == a { // one seal in 4,096 ends so
		damaged = a[:len(a)-2] + "BB"
	}
	if _, err := s.Open(damaged); err == nil {
		t.Error("a damaged sealed value opens")
	}
	if s.Hash("id", "x") != s.Hash("id", "x") || s.Hash("id", "x") == s.Hash("phone", "x") || s.Hash("id", "x") == other.Hash("id", "x") {
		t.Error("Hash must be deterministic per kind and key")
	}
	if _, err := civiq.NewSealer([]byte("short")); err == nil {
		t.Error("a short key is accepted")
	}
}

func TestOpenSealer(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "civiq.db.key")
	s1, err := civiq.OpenSealer("", file)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v; want 0600", fi.Mode().Perm())
	}
	s2, err := civiq.OpenSealer("", file)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open(s1.Seal("same key")); err != nil || got != "same key" {
		t.Errorf("the key file does not give the same key again: %q, %v", got, err)
	}
	// The environment wins over the file.
	hexKey := strings.Repeat("ab", 32)
	s3, err := civiq.OpenSealer(hexKey, file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Open(s1.Seal("x")); err == nil {
		t.Error("CIVIQ_SECRET_KEY was ignored")
	}
	if _, err := civiq.OpenSealer("not a key", file); err == nil {
		t.Error("a bad CIVIQ_SECRET_KEY is accepted")
	}
	os.WriteFile(filepath.Join(dir, "bad.key"), []byte("nonsense\n"), 0o600)
	if _, err := civiq.OpenSealer("", filepath.Join(dir, "bad.key")); err == nil {
		t.Error("a bad key file is accepted")
	}
}

// FuzzParseIDNumber: whatever comes in, the parser never panics, and what
// it accepts is 18 characters with a right check character, stable when
// parsed again, and masked to 3 + 11 stars + 4.
func FuzzParseIDNumber(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "440524188001010014", "", "X", "110101199002300012",
		"１１０１０５１９４９１２３１００２X", "11010519491231002X\x00", " 510108197701150019\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := civiq.ParseIDNumber(s)
		if err != nil {
			if civiq.ErrorCode(err) != civiq.EInvalidIDNumber {
				t.Fatalf("ParseIDNumber(%q): error code %s", s, civiq.ErrorCode(err))
			}
			return
		}
		if len(id) != 18 || civiq.IDCheckChar(id[:17]) != id[17] {
			t.Fatalf("ParseIDNumber(%q) = %q: not a checked ID number", s, id)
		}
		if again, err := civiq.ParseIDNumber(id); err != nil || again != id {
			t.Fatalf("ParseIDNumber(%q) = %q, %v; want it unchanged", id, again, err)
		}
		m := civiq.MaskIDNumber(id)
		if !utf8.ValidString(m) || len(m) != 18 || m[:3] != id[:3] || m[14:] != id[14:] || strings.Count(m, "*") != 11 {
			t.Fatalf("MaskIDNumber(%q) = %q", id, m)
		}
	})
}
