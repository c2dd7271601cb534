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

// A log level, a synchronous mode or a number that civiq serve cannot
// read, given or from the environment, stops it (exit 2) naming the flag,
// rather than running on the default.
func TestServeFlagValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  [2]string
		want string
	}{
		{[]string{"--log-level", "loud"}, [2]string{}, `--log-level (or CIVIQ_LOG_LEVEL) "loud"`},
		{nil, [2]string{"CIVIQ_LOG_LEVEL", "verbose"}, `--log-level (or CIVIQ_LOG_LEVEL) "verbose"`},
		{[]string{"--sqlite-synchronous", "OFF"}, [2]string{}, `--sqlite-synchronous (or CIVIQ_SQLITE_SYNCHRONOUS) "OFF"`},
		{nil, [2]string{"CIVIQ_MAX_CONNS_PER_ADDR", "lots"}, `CIVIQ_MAX_CONNS_PER_ADDR (the default of --max-conns-per-addr): "lots" is not a number`},
		{nil, [2]string{"CIVIQ_WEBHOOK_PIPELINE", "6x"}, `CIVIQ_WEBHOOK_PIPELINE (the default of --webhook-pipeline)`},
		{nil, [2]string{"CIVIQ_MAX_DEVICE_CONNS_PER_ADDR", "-"}, `CIVIQ_MAX_DEVICE_CONNS_PER_ADDR (the default of --max-device-conns-per-addr)`},
		{nil, [2]string{"CIVIQ_LDAP_STARTTLS", "yes"}, `CIVIQ_LDAP_STARTTLS (the default of --ldap-starttls): "yes" is not 1 or 0`},
		{nil, [2]string{"CIVIQ_DEMO", "on"}, `CIVIQ_DEMO (the default of --demo)`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if tc.env[0] != "" {
				t.Setenv(tc.env[0], tc.env[1])
			}
			db := filepath.Join(t.TempDir(), "civiq.db")
			var stderr bytes.Buffer
			args := append([]string{"--db", db, "--addr", "127.0.0.1:0"}, tc.args...)
			if code := runServe(context.Background(), args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("civiq serve %q (%s): exit %d, %s", tc.args, tc.env, code, stderr.String())
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was opened: %v", err)
			}
		})
	}
	// Good values, and a flag given over a bad variable, pass; a level's
	// case does not matter.
	t.Setenv("CIVIQ_MAX_CONNS_PER_ADDR", "lots")
	c, err := ParseServeFlags([]string{"--log-level", "WARN", "--sqlite-synchronous", "normal", "--max-conns-per-addr", "0"}, &bytes.Buffer{})
	if err != nil || c.MaxConnsPerAddr != 0 || c.LogLevel != "WARN" {
		t.Errorf("good values: %+v %v", c, err)
	}
	t.Setenv("CIVIQ_LDAP_STARTTLS", "true")
	t.Setenv("CIVIQ_DEMO", "1")
	if c, err := ParseServeFlags([]string{"--max-conns-per-addr", "1"}, &bytes.Buffer{}); err != nil || !c.SSO.LDAPStartTLS || !c.Demo {
		t.Errorf("CIVIQ_LDAP_STARTTLS=true, CIVIQ_DEMO=1: %+v %v", c, err)
	}
}
