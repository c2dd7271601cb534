package pgtest

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// A shared server's directory goes at the next run once its test process
// has ended; a live process's, and one without an owner, stay.
func TestRemoveStale(t *testing.T) {
	tmp := t.TempDir()
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Skip("no true(1) to make an ended process: ", err)
	}
	mk := func(name, owner string) string {
		d := filepath.Join(tmp, "civiq-pgtest-"+name)
		if err := os.MkdirAll(filepath.Join(d, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(d, "owner"), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	gone := mk("ended", strconv.Itoa(ended.Process.Pid))
	live := mk("live", strconv.Itoa(os.Getpid()))
	unowned := mk("unowned", "")
	removeStale(tmp)
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the ended process's directory is still there: %v", err)
	}
	for _, d := range []string{live, unowned} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
}
