package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/postgres"
	"github.com/civiq/civiq/sqlstore"
)

// runMigrateToPostgres copies a SQLite database, every hall in it, into an
// empty PostgreSQL database: the way a hall that ran on its own joins the
// city's installation.
func runMigrateToPostgres(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate-to-postgres", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", env("CIVIQ_DB", "civiq.db"), "SQLite database to copy (env CIVIQ_DB); stop the server first")
	pg := fs.String("postgres", env("CIVIQ_POSTGRES_URL", ""), "PostgreSQL URL of an empty database (env CIVIQ_POSTGRES_URL)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *pg == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "civiq migrate-to-postgres: give --postgres URL (and --db FILE)")
		return 2
	}
	n, err := migrateToPostgres(ctx, *db, *pg)
	if err != nil {
		fmt.Fprintln(stderr, "civiq migrate-to-postgres:", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %d rows from %s into PostgreSQL\n", n, *db)
	// The keys stay in files beside the SQLite database: the nodes need
	// them, or the personal data copied does not open and receipts
	// printed before do not verify.
	var keys []string
	for _, k := range []struct{ kind, env string }{{"key", civiq.EnvSecretKey}, {"receipt-keys", civiq.EnvReceiptKeys}, {"vapid-key", EnvVAPIDKey}} {
		if f := keyFileOf(Config{DB: *db}, k.kind); fileExists(f) {
			keys = append(keys, fmt.Sprintf("%s=\"$(cat %s)\"", k.env, f))
		}
	}
	if len(keys) > 0 {
		fmt.Fprintf(stdout, "give every node the keys of %s, as: %s\n", *db, strings.Join(keys, " "))
	}
	return 0
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// skipTables are rebuilt or meaningless on the other side. The queue
// counts are copied like the rest: no trigger counts a ticket inserted
// (the store's InsertTicket does).
var skipTables = []string{"schema_migrations", "sessions"}

func migrateToPostgres(ctx context.Context, db, url string) (int, error) {
	if _, err := os.Stat(db); err != nil {
		return 0, fmt.Errorf("database %s: %w", db, err)
	}
	// A server still on the file holds its lock: what it writes after the
	// copy would be lost at the cut-over.
	unlock, err := lockDB(db)
	if err != nil {
		return 0, err
	}
	defer unlock()
	// Both schemas brought up to date by their own migrations first.
	lite, err := sqlstore.Open(db, sqlstore.Options{})
	if err != nil {
		return 0, err
	}
	lite.Close()
	pgStore, err := postgres.Open(ctx, url)
	if err != nil {
		return 0, err
	}
	pgStore.Close()

	src, err := sql.Open("sqlite", sqlstore.DSN(db, sqlstore.Options{}))
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dst, err := sql.Open("pgx", url)
	if err != nil {
		return 0, err
	}
	defer dst.Close()
	var halls int
	if err := dst.QueryRowContext(ctx, `SELECT COUNT(*) FROM halls`).Scan(&halls); err != nil {
		return 0, err
	}
	if halls > 0 {
		return 0, errors.New("the PostgreSQL database already holds halls: copy into an empty database")
	}
	tables, err := tablesInOrder(ctx, src)
	if err != nil {
		return 0, err
	}
	tx, err := dst.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// Admins made by the first start of the PostgreSQL nodes give way to the
	// hall's own users.
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions; DELETE FROM users`); err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tables {
		n, cols, err := copyTable(ctx, src, tx, t)
		if err != nil {
			return 0, fmt.Errorf("table %s: %w", t, err)
		}
		total += n
		// Identity columns go on after the copied ids.
		for _, col := range []string{"id", "seq"} {
			if !slices.Contains(cols, col) {
				continue
			}
			var seq sql.NullString
			if err := tx.QueryRowContext(ctx, `SELECT pg_get_serial_sequence($1, $2)`, t, col).Scan(&seq); err == nil && seq.Valid {
				if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT setval(%s, GREATEST((SELECT COALESCE(MAX(%s), 0) FROM %s), 1))`, quoteLit(seq.String), col, t)); err != nil {
					return 0, err
				}
			}
		}
	}
	return total, tx.Commit()
}

func quoteLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// tablesInOrder lists the SQLite tables, each after the tables it refers to.
func tablesInOrder(ctx context.Context, src *sql.DB) ([]string, error) {
	rows, err := src.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		if !slices.Contains(skipTables, n) {
			names = append(names, n)
		}
	}
	rows.Close()
	deps := map[string][]string{}
	for _, n := range names {
		fk, err := src.QueryContext(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, n)
		if err != nil {
			return nil, err
		}
		for fk.Next() {
			var to string
			fk.Scan(&to)
			if to != n {
				deps[n] = append(deps[n], to)
			}
		}
		fk.Close()
	}
	var out []string
	done := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if done[n] {
			return
		}
		done[n] = true
		for _, d := range deps[n] {
			visit(d)
		}
		out = append(out, n)
	}
	for _, n := range names {
		visit(n)
	}
	return out, nil
}

// copyTable copies every row of a table and returns how many, with the
// table's columns.
func copyTable(ctx context.Context, src *sql.DB, dst *sql.Tx, table string) (int, []string, error) {
	rows, err := src.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, nil, err
	}
	marks := make([]string, len(cols))
	for i := range cols {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	ins, err := dst.PrepareContext(ctx, fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, table, strings.Join(cols, ", "), strings.Join(marks, ", ")))
	if err != nil {
		return 0, nil, err
	}
	defer ins.Close()
	n := 0
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, nil, err
		}
		n++
	}
	return n, cols, rows.Err()
}
