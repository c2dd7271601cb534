package postgres_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/civiq/civiq/pgtest"
	"github.com/civiq/civiq/postgres"
	"github.com/civiq/civiq/sqlite"
)

// columns lists "table.column" of a database, sorted.
func columns(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		out = append(out, table+"."+col)
	}
	slices.Sort(out)
	return out
}

// The PostgreSQL migrations build the same tables with the same columns as
// the SQLite ones: a migration added to one and not the other fails here.
func TestSchemasMatch(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "civiq.db")
	lite, err := sqlite.Open(file, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lite.Close()
	url := pgtest.Database(t)
	pg, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	pg.Close()

	ldb, _ := sql.Open("sqlite", file)
	defer ldb.Close()
	got := columns(t, ldb, `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '%_fts%'`)
	pdb, _ := sql.Open("pgx", url)
	defer pdb.Close()
	want := columns(t, pdb, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		for _, c := range got {
			if !slices.Contains(want, c) {
				t.Errorf("only in SQLite: %s", c)
			}
		}
		for _, c := range want {
			if !slices.Contains(got, c) {
				t.Errorf("only in PostgreSQL: %s", c)
			}
		}
	}
}
