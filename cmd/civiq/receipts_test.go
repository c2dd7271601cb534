package main

import (
	"bytes"
	"context"
	"path/filepath"
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
