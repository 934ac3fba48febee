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

	"github.com/spf13/cobra"
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
	// Tests set it to draw on a buffer as on a terminal.
	Progress bool
	// ProgressInterval is how often the bar is redrawn (default 200 ms).
	ProgressInterval time.Duration
	Logger           *slog.Logger

	// flagSetHook, when set, is given every flag set a command makes:
	// shell completion reads a command's flags that way.
	flagSetHook func(*flag.FlagSet)
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

// command is one subcommand. A command with subs (org add, token create)
// is run as run(ctx, e, append([]string{sub}, args...)).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *Env, args []string) error
	subs    []subcommand
}

type subcommand struct{ name, summary string }

func commands() []command {
	return []command{
		{"init", "create an empty store (ingest creates one too)", runInit, nil},
		{"ingest", "read operator exports into a store, creating it when missing", runIngest, nil},
		{"profile", "check how a mapping profile reads a sample export", runProfile, []subcommand{
			{"check", "show how a profile reads the first rows of a sample export"},
		}},
		{"report", "write the monthly reports of a store", runReport, nil},
		{"audit", "check report files for disclosed hidden cells", runAudit, nil},
		{"generate", "write a generated operator export (for tests and benchmarks)", runGenerate, nil},
		{"org", "add, list, set or remove organisations in a store's registry", runOrg, []subcommand{
			{"add", "register an organisation"},
			{"list", "list the registered organisations"},
			{"set", "change a registered organisation"},
			{"remove", "remove an organisation from the registry"},
		}},
		{"purge", "delete records past retention and of organisations whose agreement ended", runPurge, nil},
		{"send", "email a month's reports to the organisations' recipients, each once", runSend, nil},
		{"schedule", "send each month's reports on a day and time (Europe/Oslo), until stopped", runSchedule, nil},
		{"deliveries", "show a month's delivery ledger, or resolve a failed or unknown delivery", runDeliveries, nil},
		{"serve", "serve each organisation its own reports over HTTP", runServe, nil},
		{"token", "create, list or revoke organisations' access tokens for serve", runToken, []subcommand{
			{"create", "create an access token and print it once"},
			{"list", "list the access tokens (never the tokens themselves)"},
			{"revoke", "revoke an access token, ending its sessions"},
		}},
		{"audit-log", "print the server's audit log of downloads and failed sign-ins", runAuditLog, nil},
	}
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// commandError is a command's own error, told apart from cobra's (an
// unknown command, a bad flag before the command name), which are usage
// errors.
type commandError struct {
	name string
	err  error
}

func (e commandError) Error() string { return e.err.Error() }
func (e commandError) Unwrap() error { return e.err }

// errNoCommand is running usagereport without a command.
var errNoCommand = errors.New("no command given")

// Main runs one subcommand and returns the exit code.
//
// The command tree is cobra's (github.com/spf13/cobra), the convention of
// kubectl, gh and hugo: it gives the help of every command and
// subcommand, --version, suggestions for a mistyped command and the
// completion scripts of bash, zsh and fish. Each command still parses its
// own flags with the standard flag package (see parseFlags): its flag set
// is defined next to its code, and flags are read GNU style anywhere on
// the line.
func Main(ctx context.Context, args []string, e *Env) int {
	if e.Logger == nil {
		e.Logger = slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	root := rootCommand(e)
	root.SetArgs(append([]string{}, args...)) // never nil: cobra would read os.Args
	err := root.ExecuteContext(ctx)
	var ce commandError
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errNoCommand):
		return ExitUsage
	case errors.As(err, &ce) && errors.Is(ce.err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ce) && errors.As(ce.err, &ue):
		fmt.Fprintf(e.Stderr, "usagereport %s: %v\nRun 'usagereport %s --help' for usage.\n", ce.name, ue, ce.name)
		return ExitUsage
	case errors.As(err, &ce):
		fmt.Fprintf(e.Stderr, "usagereport %s: %v\n", ce.name, ce.err)
		return ExitFailure
	default:
		fmt.Fprintf(e.Stderr, "usagereport: %v\nRun 'usagereport --help' for usage.\n", err)
		return ExitUsage
	}
}

// rootCommand builds the command tree.
func rootCommand(e *Env) *cobra.Command {
	cobra.EnableCommandSorting = false // the pipeline's order, as commands() has it
	root := &cobra.Command{
		Use:   "usagereport",
		Short: "monthly aggregate usage reports for employers",
		Long: "usagereport: monthly aggregate usage reports for employers.\n\n" +
			"It reads operators' usage exports into a store, dropping everything personal, and writes\n" +
			"one report per organisation and month (Excel and Parquet) that never shows a group\n" +
			"smaller than k. Flags go anywhere on the line, as --flag VALUE or --flag=VALUE.",
		Example: "  usagereport ingest --store out/store fixtures/sample/*\n" +
			"  usagereport report --store out/store --month 2026-10 --out out/reports\n" +
			"  usagereport ingest --help",
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(e.Stderr)
			cmd.Help()
			return errNoCommand
		},
	}
	root.SetOut(e.Stdout)
	root.SetErr(e.Stderr)
	root.SetVersionTemplate("usagereport {{.Version}}\n")
	root.CompletionOptions.HiddenDefaultCmd = false
	for _, c := range commands() {
		root.AddCommand(c.cobra(e))
	}
	return root
}

// cobra makes c's cobra command: a leaf whose run parses its own flags, or
// a parent of such leaves.
func (c command) cobra(e *Env) *cobra.Command {
	if len(c.subs) == 0 {
		return leafCommand(e, c.name, c.name, c.summary, func(ctx context.Context, args []string) error {
			return c.run(ctx, e, args)
		})
	}
	h := helps[c.name]
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.name
	}
	parent := &cobra.Command{
		Use:     c.name,
		Short:   c.summary,
		Long:    strings.TrimSpace(c.summary + ".\n\n" + h.long),
		Example: indent(h.example),
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return commandError{c.name, usagef("want a subcommand: %s", strings.Join(names, ", "))}
			}
			return commandError{c.name, usagef("unknown subcommand %q: want %s", args[0], strings.Join(names, ", "))}
		},
	}
	for _, s := range c.subs {
		parent.AddCommand(leafCommand(e, c.name+" "+s.name, s.name, s.summary, func(ctx context.Context, args []string) error {
			return c.run(ctx, e, append([]string{s.name}, args...))
		}))
	}
	return parent
}

// leafCommand is a command that parses its own flags: cobra passes it the
// whole rest of the line, --help included, and its help is the one its
// flag set prints.
func leafCommand(e *Env, full, use, summary string, run func(ctx context.Context, args []string) error) *cobra.Command {
	cc := &cobra.Command{
		Use:                use,
		Short:              summary,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := run(cmd.Context(), args); err != nil {
				return commandError{full, err}
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if !strings.HasPrefix(toComplete, "-") {
				return nil, cobra.ShellCompDirectiveDefault // file names
			}
			return flagCompletions(e, run, toComplete), cobra.ShellCompDirectiveNoFileComp
		},
	}
	cc.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		run(cmd.Context(), []string{"--help"})
	})
	return cc
}

// flagCompletions lists a command's flags that start with prefix, each
// with its usage, by running the command with --help on a quiet Env: a
// command parses its flags before it touches anything.
func flagCompletions(e *Env, run func(ctx context.Context, args []string) error, prefix string) []string {
	var sets []*flag.FlagSet
	quiet := *e
	quiet.Stdout, quiet.Stderr = io.Discard, io.Discard
	quiet.Logger = slog.New(slog.DiscardHandler)
	quiet.flagSetHook = func(fs *flag.FlagSet) { sets = append(sets, fs) }
	// run closes over e, not quiet: swap its fields for the call.
	saved := *e
	*e = quiet
	run(context.Background(), []string{"--help"})
	*e = saved
	var out []string
	for _, fs := range sets {
		fs.VisitAll(func(f *flag.Flag) {
			if name := "--" + f.Name; strings.HasPrefix(name, prefix) {
				out = append(out, name+"\t"+f.Usage)
			}
		})
	}
	return out
}

// newFlagSet returns a flag set that reports errors instead of exiting;
// --help prints the command's help (see help.go) on e.Stdout.
func newFlagSet(e *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseFlags reports errors itself
	fs.Usage = func() { printHelp(e.Stdout, name, usage, fs) }
	if e.flagSetHook != nil {
		e.flagSetHook(fs)
	}
	return fs
}

// parseFlags parses args GNU style: flags anywhere on the line, before,
// between or after the other arguments, as --flag VALUE or --flag=VALUE;
// "--" ends the flags. A flag error is a usage error; --help prints the
// help and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	help := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error
	defer func() { fs.Usage = help }()
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			help()
			return err
		}
		if err != nil {
			return usageError{flagErrorNames.Replace(err.Error())}
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	// Leave the positional arguments as fs.Args().
	return fs.Parse(append([]string{"--"}, positional...))
}

// flagErrorNames makes the flag package's errors name flags as --flag.
var flagErrorNames = strings.NewReplacer("argument: -", "argument: --", "defined: -", "defined: --",
	"for flag -", "for flag --", "for -", "for --")

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
// usage error. (The command tree routes only known subcommands here.)
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

// plural is n with the noun in the singular or the plural: "1 file",
// "2 files", "0 files".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
