package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/civiq/civiq/sqlstore"
)

// runBackup copies a SQLite database, online: a running server goes on
// serving while VACUUM INTO writes a consistent copy.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", env("CIVIQ_DB", "civiq.db"), "SQLite database to back up (env CIVIQ_DB)")
	to := fs.String("to", "", "file to write the backup to (must not exist)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "civiq backup: give --to FILE (and --db FILE)")
		return 2
	}
	if err := backup(ctx, *db, *to); err != nil {
		fmt.Fprintln(stderr, "civiq backup:", err)
		return 1
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", *db, *to)
	return 0
}

func backup(ctx context.Context, db, to string) error {
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("database %s: %w", db, err)
	}
	if _, err := os.Stat(to); err == nil {
		return fmt.Errorf("%s exists already: choose a new file", to)
	}
	conn, err := sql.Open("sqlite", sqlstore.DSN(db, sqlstore.Options{}))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := checkCiviqDB(ctx, conn); err != nil {
		return fmt.Errorf("%s: %w", db, err)
	}
	abs, err := filepath.Abs(to)
	if err != nil {
		return err
	}
	// VACUUM INTO writes into an empty file: made first, the owner's only.
	if err := sqlstore.PrivateFile(abs); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs)
		return fmt.Errorf("vacuum into %s: %w", to, err)
	}
	return nil
}

// checkCiviqDB makes sure a file is a civiq database, not just any SQLite.
func checkCiviqDB(ctx context.Context, conn *sql.DB) error {
	var v int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil || v == 0 {
		return errors.New("not a civiq database")
	}
	return nil
}

// runRestore puts a backup in place of a database. The server must be
// stopped: restore refuses to overwrite a database unless told to.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", env("CIVIQ_DB", "civiq.db"), "SQLite database to restore into (env CIVIQ_DB)")
	from := fs.String("from", "", "backup file made by civiq backup")
	force := fs.Bool("force", false, "replace an existing database (stop the server first)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *from == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "civiq restore: give --from FILE (and --db FILE)")
		return 2
	}
	if err := restore(ctx, *from, *db, *force); err != nil {
		fmt.Fprintln(stderr, "civiq restore:", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", *db, *from)
	if missing := (Config{DB: *db}).missingKeyFiles(); len(missing) > 0 {
		fmt.Fprintf(stderr, "civiq restore: put back the key files kept with the database before civiq serve, or set CIVIQ_SECRET_KEY, CIVIQ_RECEIPT_KEYS and CIVIQ_VAPID_KEY: missing %s (new keys would not open the personal data sealed before)\n", strings.Join(missing, ", "))
	}
	return 0
}

func restore(ctx context.Context, from, db string, force bool) error {
	if _, err := os.Stat(db); err == nil && !force {
		return fmt.Errorf("%s exists: stop the server and add --force to replace it", db)
	}
	// A server still on the file holds its lock: its database is not
	// replaced under it.
	unlock, err := lockDB(db)
	if err != nil {
		return err
	}
	defer unlock()
	// Check the backup, then copy it next to the target and rename, so a
	// failure halfway leaves the old database as it was.
	conn, err := sql.Open("sqlite", "file:"+from+"?mode=ro")
	if err != nil {
		return err
	}
	err = checkCiviqDB(ctx, conn)
	conn.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	tmp := db + ".restore"
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	for _, p := range sqlstore.Sidecars(db) {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			os.Remove(tmp)
			return err
		}
	}
	return os.Rename(tmp, db)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
