package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/app"
	"github.com/civiq/civiq/civiqtest"
	"github.com/civiq/civiq/sqlstore"
)

// Start warns of a stored setting the allow lists refuse (an SMS gateway
// on a private address, stored before --notify-allow) beside serving,
// naming the setting and the flag, never the address; Close waits for
// the read, so that it never meets a closed store.
func TestStartWarnsRefused(t *testing.T) {
	store, err := sqlstore.Open(filepath.Join(t.TempDir(), "civiq.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	a, err := app.New(store, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Engine.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	// Set while --notify-allow held the gateway, which it no longer does.
	if a.Engine.Sealer, err = civiq.NewSealer(bytes.Repeat([]byte{5}, civiq.SecretKeySize)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Engine.Bootstrap(ctx, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	_, _, admin, err := a.Engine.Login(ctx, "admin", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	a.SetNotifyAllow([]netip.Prefix{netip.MustParsePrefix("192.168.8.0/24")})
	if _, err := a.Engine.SetNotifySettings(ctx, civiq.Principal{User: admin}, "demo", civiq.NotifySettings{
		SMS: &civiq.ProviderSettings{Provider: "aliyun", Endpoint: "http://192.168.8.2:8080/sms", KeyID: "k", Secret: "s", SignName: "政务大厅"}}); err != nil {
		t.Fatal(err)
	}
	a.SetNotifyAllow(nil)
	var log civiqtest.Output
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&log, nil)))
	a.Start()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "allow lists refuse") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	a.Close()
	got := log.String()
	if !strings.Contains(got, `setting="hall demo sms.endpoint" flag=--notify-allow`) || strings.Contains(got, "192.168") {
		t.Errorf("the log: %s", got)
	}
}
