package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
)

// helpText is what a command's --help says beyond its usage line and
// flags: a longer description and examples. The examples use the paths
// scripts/demo makes (out/store, out/reports) and its organisations, so
// that they work as printed after it.
type helpText struct {
	long    string
	example string
}

// helps holds every command's and subcommand's help text, keyed by the
// name its flag set has ("ingest", "org add").
var helps = map[string]helpText{
	"init": {
		long: "Create an empty store: a new folder (embedded) or the schema in an empty PostgreSQL\n" +
			"database. Only init and ingest create a store; every other command refuses a missing one.",
		example: "usagereport init --store out/store2",
	},
	"ingest": {
		long: "Read operator exports (CSV v1, docs/input-csv-v1.md, gzipped or not; or any format a\n" +
			"--profile maps) into a store, creating the store when missing. Personal columns are dropped\n" +
			"as they are read and the subscriber's number becomes a keyed pseudonym. A bad row is\n" +
			"rejected with file, line, column and reason; a file ingested before changes nothing.",
		example: "usagereport ingest --store out/store fixtures/sample/*\n" +
			"usagereport ingest fixtures/sample-profiles/* --store out/store --profile fixtures/profiles/no-invoice.toml",
	},
	"profile": {
		long:    "Mapping profiles read exports that are not CSV v1; see the README's \"Other operators' formats\".",
		example: "usagereport profile check --profile fixtures/profiles/no-invoice.toml fixtures/sample-profiles/no-invoice-2026-10.csv",
	},
	"profile check": {
		long: "Show how a mapping profile reads the first rows of a sample export: the kept fields as a\n" +
			"record holds them, the rejected rows with their reason, and the dropped columns by name only.",
		example: "usagereport profile check --profile fixtures/profiles/no-invoice.toml fixtures/sample-profiles/no-invoice-2026-10.csv",
	},
	"report": {
		long: "Write one report per organisation for a month (docs/report.md): OUT/<org>/<org>-<YYYY-MM>.xlsx\n" +
			"and .parquet, with every group smaller than k hidden and the cells that would give it away\n" +
			"hidden too. An organisation with fewer than k subscribers that month gets no report.\n" +
			"With --worker, on PostgreSQL, several processes on several machines share the month\n" +
			"(README: Several report workers on one month).",
		example: "usagereport report --store out/store --month 2026-10 --out out/reports\n" +
			"usagereport report --store out/store --month 2026-11 --out out/reports --org 927489058 --format xlsx\n" +
			"usagereport report --store postgres://report@db.example/usage --month 2026-10 --out /mnt/reports --worker",
	},
	"audit": {
		long: "Read Parquet reports back and check, as an attacker would, that no hidden cell can be\n" +
			"worked out from the published ones. Exits 1 when a file discloses one.",
		example: "usagereport audit out/reports/927489058/927489058-2026-10.parquet",
	},
	"generate": {
		long:    "Write a generated operator export in CSV v1, the same bytes for the same seed.",
		example: "usagereport generate --out /tmp/big.csv.gz --rows 100000 --gzip",
	},
	"org": {
		long: "The registry of organisations: name, agreement end (its records are purged 6 months\n" +
			"later), report recipients and a larger minimum group size.",
		example: "usagereport org list --store out/store\n" +
			"usagereport org add --store out/store --org 927489058 --name \"Fjord Bygg AS\" --recipient finance@example.no",
	},
	"org add": {
		example: "usagereport org add --store out/store --org 927489058 --name \"Fjord Bygg AS\" --recipient finance@example.no",
	},
	"org set": {
		long:    "Change only the flags given; --recipient replaces the list.",
		example: "usagereport org set --store out/store --org 927489058 --min-group 10",
	},
	"org list": {
		example: "usagereport org list --store out/store",
	},
	"org remove": {
		example: "usagereport org remove --store out/store --org 927489058",
	},
	"purge": {
		long:    "Delete the months past retention and the records of organisations 6 months after their agreement ended.",
		example: "usagereport purge --store out/store --dry-run",
	},
	"send": {
		long: "Make the month's missing reports, then email each organisation's recipients (org add\n" +
			"--recipient), each once: a delivery ledger in the store remembers what was sent.",
		example: "usagereport send --store out/store --reports out/reports --month 2026-10 \\\n" +
			"    --smtp-host smtp.example.no --from \"Bruksrapport <rapport@example.no>\"",
	},
	"schedule": {
		long: "Run send for the month before on a day and time (Europe/Oslo) every month, until\n" +
			"stopped; a run missed while down is caught up.",
		example: "usagereport schedule --store out/store --reports out/reports --day 3 --at 08:00 \\\n" +
			"    --smtp-host smtp.example.no --from \"Bruksrapport <rapport@example.no>\"",
	},
	"deliveries": {
		example: "usagereport deliveries --store out/store --month 2026-10",
	},
	"serve": {
		long:    "Serve each organisation its own reports, by access token (token create), as JSON and on a page.",
		example: "usagereport serve --store out/store --reports out/reports --addr 127.0.0.1:8080",
	},
	"token": {
		long:    "Access tokens for serve: the store keeps only their hash.",
		example: "usagereport token create --store out/store --org 927489058 --name finance",
	},
	"token create": {
		long:    "Print a new token once, on standard output alone; the organisation must be registered (org add).",
		example: "usagereport token create --store out/store --org 927489058 --name finance",
	},
	"token list": {
		example: "usagereport token list --store out/store",
	},
	"token revoke": {
		example: "usagereport token revoke --store out/store 1",
	},
	"audit-log": {
		example: "usagereport audit-log --store out/store --since 24h",
	},
}

// printHelp prints a command's help: what it does, its usage line, its
// flags as --flag, and examples.
func printHelp(w io.Writer, name, usage string, fs *flag.FlagSet) {
	h := helps[name]
	if s := summaryOf(name); s != "" {
		fmt.Fprintf(w, "%s%s.\n\n", strings.ToUpper(s[:1]), s[1:])
	}
	if h.long != "" {
		fmt.Fprintf(w, "%s\n\n", h.long)
	}
	fmt.Fprintf(w, "Usage:\n  usagereport %s %s\n\n", name, usage)
	fmt.Fprintf(w, "Flags:\n%s", flagUsages(fs))
	if h.example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", indent(h.example))
	}
}

// summaryOf is the one-line summary of a command or subcommand.
func summaryOf(name string) string {
	cmd, sub, _ := strings.Cut(name, " ")
	for _, c := range commands() {
		if c.name != cmd {
			continue
		}
		if sub == "" {
			return c.summary
		}
		for _, s := range c.subs {
			if s.name == sub {
				return s.summary
			}
		}
	}
	return ""
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// flagUsages lays out fs's flags GNU style (--name TYPE  usage (default
// x)), through pflag's formatter so that they look like cobra's.
func flagUsages(fs *flag.FlagSet) string {
	pfs := pflag.NewFlagSet(fs.Name(), pflag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		typ, _ := flag.UnquoteUsage(f)
		v := typedValue{f.Value, typ}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			v.typ = "bool"
		} else if typ == "value" || typ == "" {
			v.typ = "string"
		}
		pf := pfs.VarPF(v, f.Name, "", f.Usage)
		pf.DefValue = f.DefValue
		if v.typ == "bool" {
			pf.NoOptDefVal = "true"
		}
		switch f.DefValue {
		case "[]", "0s", "false", "0", "":
			pf.DefValue = "" // nothing worth saying
		}
	})
	pfs.BoolP("help", "h", false, "show this help")
	return pfs.FlagUsagesWrapped(100)
}

// typedValue gives a standard flag.Value the Type that pflag prints.
type typedValue struct {
	flag.Value
	typ string
}

func (v typedValue) Type() string { return v.typ }

// version is the module version and VCS revision of the binary, from its
// build information.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version: no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	switch {
	case rev == "":
		v += ", no VCS revision (built outside a git checkout or with -buildvcs=false)"
	default:
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += ", revision " + rev
		if when != "" {
			v += " of " + when
		}
		if modified {
			v += " with uncommitted changes"
		}
	}
	return v + ", " + bi.GoVersion
}
