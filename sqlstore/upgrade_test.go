package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"sort"
	"testing"
	"testing/fstest"

	"github.com/civiq/civiq"
)

// upTo is the SQLite dialect with only the migrations numbered up to n: a
// database as an earlier release left it.
func upTo(t *testing.T, d Dialect, n int) *Dialect {
	t.Helper()
	names, _ := fs.Glob(d.Migrations, "*.sql")
	sort.Strings(names)
	sub := fstest.MapFS{}
	for _, name := range names[:n] {
		b, _ := fs.ReadFile(d.Migrations, name)
		sub[name] = &fstest.MapFile{Data: b}
	}
	d.Migrations = sub
	return &d
}

// Every earlier schema, with a hall and a ticket in it, upgrades to the
// current one at start and keeps its data.
func TestUpgradeFromEveryEarlierSchema(t *testing.T) {
	names, _ := fs.Glob(SQLite.Migrations, "*.sql")
	for k := 1; k < len(names); k++ {
		t.Run(names[k-1], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			w, _ := sql.Open("sqlite", DSN(path, Options{}))
			r, _ := sql.Open("sqlite", DSN(path, Options{}))
			old, err := OpenDB(w, r, upTo(t, SQLite, k))
			if err != nil {
				t.Fatalf("schema %d: %v", k, err)
			}
			if v, _ := old.Version(); v != k {
				t.Fatalf("old version %d, want %d", v, k)
			}
			if _, err := old.write.Exec(`INSERT INTO halls (id, data) VALUES ('h', '{"id":"h","name":"H","timezone":"Asia/Shanghai","policy":"fifo","max_calls":3}')`); err != nil {
				t.Fatal(err)
			}
			if _, err := old.write.Exec(`INSERT INTO tickets (id, hall_id, service_id, number, day, channel, priority, status, issued_at, queued_at)
				VALUES ('t1', 'h', 's', 'A001', '2026-11-27', 'kiosk', 'normal', 'waiting', 1, 1)`); err != nil {
				t.Fatal(err)
			}
			old.Close()

			s, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("upgrade from %d: %v", k, err)
			}
			defer s.Close()
			if v, _ := s.Version(); v != len(names) {
				t.Fatalf("upgraded version %d, want %d", v, len(names))
			}
			var number string
			if err := s.read.QueryRow(`SELECT number FROM tickets WHERE id = 't1'`).Scan(&number); err != nil || number != "A001" {
				t.Fatalf("ticket after upgrade: %q %v", number, err)
			}
			// The hall row predates the voice template: it reads with the
			// default one, in a list of halls and alone.
			want := &civiq.Hall{ID: "h"}
			want.Defaults()
			err = s.View(context.Background(), func(tx civiq.Tx) error {
				hs, err := tx.Halls()
				if err != nil {
					return err
				}
				h, err := tx.Hall("h")
				if err != nil {
					return err
				}
				for _, got := range []*civiq.Hall{&hs[0], h} {
					if got.VoiceTemplate != want.VoiceTemplate || len(got.PriorityGroups) != len(want.PriorityGroups) {
						t.Errorf("hall after upgrade: %+v", got)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
