// Command civiq runs a public service hall: civiq serve, civiq bench,
// civiq version.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "v0.1.0-dev"
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `civiq runs public service halls: tickets, calling, displays, ratings.

Usage:
  civiq serve [--addr 127.0.0.1:8080] [--db civiq.db] [--demo]
  civiq bench [--duration 10s] [--clients 32] [--subscribers 1000]
  civiq simulate [--profile day.json] [--plan] [--evaluate-eta]  (hall simulator)
  civiq backup --db civiq.db --to backup.db      (online, while serving)
  civiq restore --from backup.db --db civiq.db  (server stopped)
  civiq migrate-to-postgres --db civiq.db --postgres URL  (into an empty database)
  civiq rotate-receipt-key --db civiq.db         (a new key signs receipts after a restart)
  civiq edge-sync --db hall.db --hall ID --city URL   (an edge's first pull of its hall; token in CIVIQ_EDGE_TOKEN)
  civiq version

Run 'civiq <command> --help' for the flags of a command.
`

// Run runs one subcommand and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		return runRestore(ctx, args[1:], stdout, stderr)
	case "migrate-to-postgres":
		return runMigrateToPostgres(ctx, args[1:], stdout, stderr)
	case "edge-sync":
		return runEdgeSync(ctx, args[1:], stdout, stderr)
	case "rotate-receipt-key":
		return runRotateReceiptKey(args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "simulate":
		return runSimulate(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "civiq", Version())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "civiq: unknown command %q\n\n%s", args[0], usage)
	return 2
}
