package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Exit codes scripts can rely on.
const (
	ExitOK      = 0 // done; rejected rows are reported, not a failure
	ExitFailure = 1 // a refused file, a failed write, a store error
	ExitUsage   = 2 // bad flags or arguments
)

// Env is what a command may touch of the outside world, so that tests can
// run the whole program in process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	// Progress is true when Stderr is a terminal: long work draws a bar.
	Progress bool
	Logger   *slog.Logger
}

// NewEnv returns the process's environment.
func NewEnv() *Env {
	return &Env{
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Getenv:   os.Getenv,
		Now:      time.Now,
		Progress: isTerminal(os.Stderr),
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *Env, args []string) error
}

func commands() []command {
	return []command{
		{"ingest", "read operator exports into a store", runIngest},
		{"profile", "check how a mapping profile reads a sample export", runProfile},
		{"report", "write the monthly reports of a store", runReport},
		{"audit", "check report files for disclosed hidden cells", runAudit},
		{"generate", "write a generated operator export (for tests and benchmarks)", runGenerate},
		{"org", "add, list, set or remove organisations in a store's registry", runOrg},
		{"purge", "delete records past retention and of organisations whose agreement ended", runPurge},
		{"send", "email a month's reports to the organisations' recipients, each once", runSend},
		{"schedule", "send each month's reports on a day and time (Europe/Oslo), until stopped", runSchedule},
		{"deliveries", "show a month's delivery ledger, or resolve a failed or unknown delivery", runDeliveries},
		{"serve", "serve each organisation its own reports over HTTP", runServe},
		{"token", "create, list or revoke organisations' access tokens for serve", runToken},
		{"audit-log", "print the server's audit log of downloads and failed sign-ins", runAuditLog},
	}
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Main runs one subcommand and returns the exit code.
func Main(ctx context.Context, args []string, e *Env) int {
	if e.Logger == nil {
		e.Logger = slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(e.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		var ue usageError
		switch {
		case err == nil:
			return ExitOK
		case errors.Is(err, flag.ErrHelp):
			return ExitOK
		case errors.As(err, &ue):
			fmt.Fprintf(e.Stderr, "usagereport %s: %v\nRun 'usagereport %s --help' for usage.\n", c.name, err, c.name)
			return ExitUsage
		default:
			fmt.Fprintf(e.Stderr, "usagereport %s: %v\n", c.name, err)
			return ExitFailure
		}
	}
	fmt.Fprintf(e.Stderr, "usagereport: unknown command %q\n", args[0])
	printUsage(e.Stderr)
	return ExitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usagereport: monthly aggregate usage reports for employers\n\nUsage: usagereport COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'usagereport COMMAND --help' for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to e.Stderr.
func newFlagSet(e *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Usage: usagereport %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// parseFlagsNoArgs is parseFlags for a command that takes flags only.
func parseFlagsNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}

// needSubcommand checks that args start with a subcommand of a command
// like "org add": --help prints usage and exits 0, anything else is a
// usage error.
func needSubcommand(e *Env, args []string, usage string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintf(e.Stdout, "Usage: %s\n", usage)
		return flag.ErrHelp
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("want a subcommand: %s", usage)
	}
	return nil
}
