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
	"github.com/civiq/civiq/sqlstore"
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

// The PostgreSQL migrations build the same tables with the same columns,
// and the same named indexes on the same columns, as the SQLite ones: a
// migration added to one and not the other fails here. (Triggers differ by
// design: SQLite keeps the queue counts and the guide search with its own.)
func TestSchemasMatch(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "civiq.db")
	lite, err := sqlstore.Open(file, sqlstore.Options{})
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
	same(t, "columns", got, want)
	got = columns(t, ldb, `SELECT m.name, i.name FROM sqlite_master m JOIN pragma_index_info(m.name) i
		WHERE m.type = 'index' AND m.sql IS NOT NULL AND m.name NOT LIKE '%_fts%'`)
	want = columns(t, pdb, `SELECT i.relname, a.attname FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
		JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
		WHERE n.nspname = 'public' AND NOT x.indisprimary AND i.relname NOT LIKE '%\_key'`)
	same(t, "index columns", got, want)
}

// same reports what only one of the databases has.
func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("no %s read from SQLite", what)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		for _, c := range got {
			if !slices.Contains(want, c) {
				t.Errorf("%s only in SQLite: %s", what, c)
			}
		}
		for _, c := range want {
			if !slices.Contains(got, c) {
				t.Errorf("%s only in PostgreSQL: %s", what, c)
			}
		}
	}
}
