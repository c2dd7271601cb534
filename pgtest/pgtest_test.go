package pgtest

import (
	"net/url"
	"strings"
	"testing"
)

func TestStart(t *testing.T) {
	u := Start(t)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if pu.Scheme != "postgres" || pu.User.Username() != "postgres" || pu.Path != "/postgres" ||
		pu.Query().Get("sslmode") != "disable" || !strings.HasPrefix(pu.Host, "127.0.0.1:") {
		t.Fatalf("url = %s", u)
	}

	c, err := Dial(pu.Host, "postgres", "postgres")
	if err != nil {
		t.Fatalf("dial %s: %v", pu.Host, err)
	}
	defer c.Close()

	rows, err := c.Query("SHOW fsync")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0][0] != "on" {
		t.Fatalf("SHOW fsync = %v, want on", rows)
	}

	rows, err = c.Query("CREATE TABLE t (id int PRIMARY KEY, name text); INSERT INTO t VALUES (1, '窗口'), (2, NULL); SELECT id, name FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "1" || rows[0][1] != "窗口" || rows[1][0] != "2" || rows[1][1] != "" {
		t.Fatalf("rows = %q", rows)
	}

	if _, err := c.Query("SELECT * FROM no_such_table"); err == nil || !strings.Contains(err.Error(), "42P01") {
		t.Fatalf("query on a missing table: err = %v, want SQLSTATE 42P01", err)
	}
	// The connection is still usable after an error.
	rows, err = c.Query("SELECT current_user, current_setting('listen_addresses')")
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "postgres" || rows[0][1] != "127.0.0.1" {
		t.Fatalf("rows = %q", rows)
	}
}

func TestTwoServers(t *testing.T) {
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("two servers share a URL: %s", a)
	}
	for _, u := range []string{a, b} {
		pu, _ := url.Parse(u)
		if err := Ping(pu.Host, "postgres", "postgres"); err != nil {
			t.Fatalf("ping %s: %v", u, err)
		}
	}
}

func TestBinDirFromEnv(t *testing.T) {
	t.Setenv("CIVIQ_PG_BIN", t.TempDir())
	if _, err := BinDir(); err == nil || !strings.Contains(err.Error(), "CIVIQ_PG_BIN") {
		t.Fatalf("BinDir with an empty CIVIQ_PG_BIN dir: err = %v", err)
	}
}

func TestServerStopsWithTest(t *testing.T) {
	var host string
	t.Run("inner", func(t *testing.T) {
		u := Start(t)
		pu, _ := url.Parse(u)
		host = pu.Host
	})
	if host == "" {
		t.Skip("inner test skipped")
	}
	if err := Ping(host, "postgres", "postgres"); err == nil {
		t.Fatalf("server at %s still answers after its test ended", host)
	}
}
