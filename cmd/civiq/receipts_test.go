package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/civiq/civiq"
)

// TestRotateReceiptKey: the command adds a key to the file beside the
// database, the new one current and the old one kept.
func TestRotateReceiptKey(t *testing.T) {
	t.Setenv(civiq.EnvReceiptKeys, "")
	db := filepath.Join(t.TempDir(), "civiq.db")
	before, err := civiq.OpenReceiptKeys("", db+".receipt-keys")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"rotate-receipt-key", "--db", db}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	after, err := civiq.OpenReceiptKeys("", db+".receipt-keys")
	if err != nil {
		t.Fatal(err)
	}
	keys := after.Public()
	if len(keys) != 2 || keys[0].ID != before.Public()[0].ID || !keys[1].Current || !strings.Contains(out.String(), keys[1].ID) {
		t.Errorf("after rotation %+v; said %q", keys, out.String())
	}
	// A database that is not there (a name mistyped) gets no key file.
	typo := filepath.Join(t.TempDir(), "civic.db")
	errb.Reset()
	if code := Run(context.Background(), []string{"rotate-receipt-key", "--db", typo}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no such database") {
		t.Errorf("rotate for no database: exit %d, %q", code, errb.String())
	}
	if fileExists(typo + ".receipt-keys") {
		t.Error("rotate for no database made a key file")
	}
	t.Setenv(civiq.EnvReceiptKeys, strings.Repeat("ab", 32))
	if code := Run(context.Background(), []string{"rotate-receipt-key", "--db", db}, &out, &errb); code != 2 {
		t.Errorf("with CIVIQ_RECEIPT_KEYS set: exit %d, want 2", code)
	}
}

// TestKeyWarnings: a node that needs another's keys and is started
// without them in the environment says so, naming each variable: every
// PostgreSQL node the three, and an edge the city's secret key and
// receipt keys (it seals nothing the city must open, but checks in the
// city's bookings and signs receipts the city verifies). A single SQLite
// node keeps its own key files, rightly.
func TestKeyWarnings(t *testing.T) {
	for _, v := range []string{"CIVIQ_SECRET_KEY", "CIVIQ_RECEIPT_KEYS", "CIVIQ_VAPID_KEY"} {
		t.Setenv(v, "")
	}
	names := func(c Config) []string {
		var out []string
		for _, w := range c.startWarnings() {
			name, _, _ := strings.Cut(w, " ")
			out = append(out, name)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		c    Config
		want []string
	}{
		{"postgres", Config{Postgres: "postgres://db/civiq"}, []string{"CIVIQ_SECRET_KEY", "CIVIQ_RECEIPT_KEYS", "CIVIQ_VAPID_KEY"}},
		{"edge", Config{Edge: true, DB: "hall.db"}, []string{"CIVIQ_SECRET_KEY", "CIVIQ_RECEIPT_KEYS"}},
		{"sqlite", Config{DB: "civiq.db"}, nil},
	} {
		if got := names(tc.c); !slices.Equal(got, tc.want) {
			t.Errorf("%s: warns of %q; want %q", tc.name, got, tc.want)
		}
	}
	t.Setenv("CIVIQ_RECEIPT_KEYS", "x")
	t.Setenv("CIVIQ_SECRET_KEY", "x")
	if got := names(Config{Edge: true, DB: "hall.db"}); len(got) != 0 {
		t.Errorf("an edge given the keys warns of %q", got)
	}
}

// TestEdgeHTTPCityWarns: an edge whose city is on another machine over
// plain http sends the personal data of bad ratings and cases in clear
// (docs/api.md, section 16: give --city an https:// address): it says so
// at start. Over https, or to a city on the same machine, it does not.
func TestEdgeHTTPCityWarns(t *testing.T) {
	t.Setenv("CIVIQ_SECRET_KEY", "x")
	t.Setenv("CIVIQ_RECEIPT_KEYS", "x")
	for city, want := range map[string]bool{
		"http://city.example":    true,
		"http://10.20.0.5:8080":  true,
		"https://city.example":   false,
		"http://127.0.0.1:18410": false,
		"http://localhost:8080":  false,
	} {
		ws := Config{Edge: true, DB: "hall.db", CityURL: city}.startWarnings()
		if got := len(ws) == 1 && strings.HasPrefix(ws[0], "--city is http://"); got != want {
			t.Errorf("--city %s: warnings %q; want the plain http one: %v", city, ws, want)
		}
	}
}
