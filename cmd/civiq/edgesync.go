package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/edgelink"
	"github.com/civiq/civiq/sqlstore"
)

// runEdgeSync pulls the hall's configuration from the city into an edge
// node's database once (created when missing) and exits: what civiq
// serve --edge does by itself on its first start, as a step of its own.
func runEdgeSync(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edge-sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.DB, "db", env("CIVIQ_DB", "civiq.db"), "the edge node's SQLite database (env CIVIQ_DB)")
	c.edgeFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := c.edge().Validate(); err != nil {
		fmt.Fprintln(stderr, "civiq edge-sync:", err)
		return 2
	}
	// Not under a serve --edge that runs on the file.
	unlock, err := lockDB(c.DB)
	if err != nil {
		fmt.Fprintln(stderr, "civiq edge-sync:", err)
		return 1
	}
	defer unlock()
	_, statErr := os.Stat(c.DB)
	made := errors.Is(statErr, os.ErrNotExist)
	store, err := sqlstore.Open(c.DB, sqlstore.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "civiq edge-sync:", err)
		return 1
	}
	defer store.Close()
	eng := civiq.NewEngine(store)
	eng.Node = civiq.Node{Role: civiq.NodeEdge, Hall: c.EdgeHall}
	down := &edgelink.Down{Engine: eng, Client: edgelink.New(c.edge())}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	applied, err := down.Sync(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "civiq edge-sync:", err)
		if made {
			// The database this run made holds no hall: gone with the
			// failure, a new try (or serve --edge) starts as the first did.
			store.Close()
			for _, f := range append([]string{c.DB, c.DB + ".lock"}, sqlstore.Sidecars(c.DB)...) {
				os.Remove(f)
			}
		}
		return 1
	}
	st, err := eng.EdgePull(ctx, c.EdgeHall)
	if err != nil {
		fmt.Fprintln(stderr, "civiq edge-sync:", err)
		return 1
	}
	what := "already up to date"
	if applied {
		what = "pulled"
	}
	fmt.Fprintf(stdout, "hall %s %s from %s into %s (cursor %s)\n", c.EdgeHall, what, c.CityURL, c.DB, st.Cursor)
	return 0
}
