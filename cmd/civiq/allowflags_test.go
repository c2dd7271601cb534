package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The allow lists are read with the flags: a bad CIDR, given or from
// the environment, stops civiq serve before it opens anything (exit 2),
// naming the flag; a flag given replaces its variable.
func TestServeAllowFlags(t *testing.T) {
	c, err := ParseServeFlags([]string{"--webhook-allow", "10.0.0.0/8, 192.168.1.7/32", "--ldap-allow", "10.20.0.7/32",
		"--metrics-allow", "", "--push-allow", "::1/128"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}; !slices.Equal(c.WebhookAllow, want) ||
		len(c.SSO.LDAPAllow) != 1 || c.MetricsAllow != nil || len(c.PushAllow) != 1 || c.NotifyAllow != nil {
		t.Errorf("the lists: %+v", c)
	}
	for _, name := range []string{"metrics", "webhook", "notify", "push", "oidc", "ldap"} {
		_, err := ParseServeFlags([]string{"--" + name + "-allow", "10.0.0.0/8,nonsense"}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "-"+name+"-allow") || !strings.Contains(err.Error(), `"nonsense" is not a CIDR`) {
			t.Errorf("--%s-allow nonsense: %v", name, err)
		}
	}
	t.Setenv("CIVIQ_NOTIFY_ALLOW", "10.0.0.0/33")
	if _, err := ParseServeFlags(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "CIVIQ_NOTIFY_ALLOW (the default of --notify-allow)") {
		t.Errorf("a bad CIVIQ_NOTIFY_ALLOW: %v", err)
	}
	if c, err := ParseServeFlags([]string{"--notify-allow", "10.0.0.0/16"}, &bytes.Buffer{}); err != nil || len(c.NotifyAllow) != 1 {
		t.Errorf("--notify-allow given over a bad CIVIQ_NOTIFY_ALLOW: %v %v", c.NotifyAllow, err)
	}
	t.Setenv("CIVIQ_NOTIFY_ALLOW", "10.0.0.0/8")
	if c, err := ParseServeFlags(nil, &bytes.Buffer{}); err != nil || len(c.NotifyAllow) != 1 || c.NotifyAllow[0].Bits() != 8 {
		t.Errorf("CIVIQ_NOTIFY_ALLOW: %v %v", c.NotifyAllow, err)
	}

	db := filepath.Join(t.TempDir(), "civiq.db")
	var stderr bytes.Buffer
	if code := runServe(context.Background(), []string{"--db", db, "--addr", "127.0.0.1:0", "--webhook-allow", "nonsense"}, &bytes.Buffer{}, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "civiq serve: invalid value \"nonsense\" for flag -webhook-allow: \"nonsense\" is not a CIDR") {
		t.Errorf("civiq serve --webhook-allow nonsense: exit %d, %s", code, stderr.String())
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database was opened: %v", err)
	}
}
