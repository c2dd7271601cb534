package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVAPIDKeyKept: the Web Push key pair is made on first start, in a file
// beside the database (mode 0600), and the same after a restart, so that
// browsers subscribed once stay subscribed; CIVIQ_VAPID_KEY overrides it.
func TestVAPIDKeyKept(t *testing.T) {
	t.Setenv(EnvVAPIDKey, "")
	t.Setenv("CIVIQ_ADMIN_PASSWORD", testAdminPassword)
	db := filepath.Join(t.TempDir(), "civiq.db")
	m, stop := startMain(t, db)
	first := m.app.Site.VAPIDPublicKey
	stop()
	fi, err := os.Stat(db + ".vapid-key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	// Beside the other key files, named alike.
	for _, kind := range []string{"key", "receipt-keys"} {
		if fi, err := os.Stat(db + "." + kind); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file %s: %v, %v", kind, fi, err)
		}
	}
	m, stop = startMain(t, db)
	if again := m.app.Site.VAPIDPublicKey; again != first || len(first) != 87 {
		t.Errorf("public key %q, then %q after a restart", first, again)
	}
	stop()
	// RFC 8291's example key, as web-push tools print a private key.
	t.Setenv(EnvVAPIDKey, "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")
	m, _ = startMain(t, db)
	if k := m.app.Site.VAPIDPublicKey; k != "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8" {
		t.Errorf("CIVIQ_VAPID_KEY gave the public key %s", k)
	}
	if m.app.Push.VAPID.PublicKey() != m.app.Site.VAPIDPublicKey {
		t.Error("the page and the sender have different keys")
	}
}
