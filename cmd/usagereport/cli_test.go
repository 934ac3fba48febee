package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"usagereport/internal/humansize"
)

// sampleFile is one shipped sample export.
const sampleFile = "../../fixtures/sample/operator-a-2026-10.csv"

// TestMissingStoreIsRefused: every command but ingest and init refuses a
// store that is not there, on both stores, and creates nothing.
func TestMissingStoreIsRefused(t *testing.T) {
	for name, store := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			missing := store
			if name == "embedded" {
				missing = filepath.Join(store, "typo", "store")
			}
			for _, args := range [][]string{
				{"report", "--store", missing, "--month", "2026-10", "--out", t.TempDir()},
				{"org", "add", "--store", missing, "--org", "974760673", "--name", "Acme AS"},
				{"org", "list", "--store", missing},
				{"token", "create", "--store", missing, "--org", "974760673"},
				{"token", "list", "--store", missing},
				{"purge", "--store", missing, "--dry-run"},
				{"deliveries", "--store", missing, "--month", "2026-10"},
				{"audit-log", "--store", missing},
			} {
				r := run(t, nil, args...)
				if r.code != ExitFailure || !strings.Contains(r.stderr, "no store at") || !strings.Contains(r.stderr, "(ingest creates one)") {
					t.Errorf("%s: exit %d, want %d and 'no store at ... (ingest creates one)'\nstderr:\n%s", strings.Join(args[:2], " "), r.code, ExitFailure, r.stderr)
				}
			}
			if name == "embedded" {
				if _, err := os.Stat(filepath.Dir(store)); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(store); !os.IsNotExist(err) {
					t.Errorf("a refused command created %s (err %v)", store, err)
				}
			}
			// The database was not migrated by the refused commands: org
			// list still finds no store.
			if r := run(t, nil, "org", "list", "--store", store); r.code != ExitFailure {
				t.Errorf("org list after refused commands: exit %d; the store was created", r.code)
			}
			r := mustRun(t, "init", "--store", store)
			if !strings.Contains(r.stdout, "created an empty store") {
				t.Errorf("init: %s", r.stdout)
			}
			if r := mustRun(t, "init", "--store", store); !strings.Contains(r.stdout, "already") {
				t.Errorf("init again: %s", r.stdout)
			}
			if r := mustRun(t, "org", "list", "--store", store); r.stdout != "no organisations registered\n" {
				t.Errorf("org list of a new store: %q", r.stdout)
			}
		})
	}
}

// TestTraps runs what a new user tried: each gives a clear message and the
// exit code the README promises.
func TestTraps(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	// Flags after the files.
	r := mustRun(t, "ingest", sampleFile, "--store", store)
	if !strings.Contains(r.stdout, "ingested 1 file (0 already ingested, 0 refused): 3000 rows stored") {
		t.Errorf("ingest FILE --store: %s", r.stdout)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"a month without records", []string{"report", "--store", store, "--month", "2025-01", "--out", dir + "/o"},
			ExitFailure, []string{"no records of 2025-01", "it holds 2026-10, 2026-11"}},
		{"version", []string{"--version"}, ExitOK, []string{"usagereport ", "go1."}},
		{"--out a file", []string{"report", "--store", store, "--month", "2026-10", "--out", sampleFile},
			ExitUsage, []string{"--out ../../fixtures/sample/operator-a-2026-10.csv is a file"}},
		{"missing --profile", []string{"ingest", "--store", store, "--profile", dir + "/nope.toml", sampleFile},
			ExitUsage, []string{"--profile", "nope.toml"}},
		{"flags before and after", []string{"report", "--month", "2026-10", "--store", store, "--out=" + dir + "/o2", "--format", "parquet", "--org", "927489058"},
			ExitOK, []string{"1 report written (1 file)"}},
		{"unknown flag", []string{"report", "--bogus"}, ExitUsage, []string{"not defined: --bogus", "usagereport report --help"}},
		{"unknown command", []string{"frobnicate"}, ExitUsage, []string{`unknown command "frobnicate"`}},
		{"a subcommand missing", []string{"org"}, ExitUsage, []string{"want a subcommand: add, list, set, remove"}},
		{"an unknown subcommand", []string{"token", "mint"}, ExitUsage, []string{`unknown subcommand "mint"`}},
		{"-- ends the flags", []string{"audit", "--", "--not-a-flag.parquet"}, ExitFailure, []string{"open --not-a-flag.parquet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", w, r.stdout, r.stderr)
				}
			}
		})
	}
}

// TestAuditMessageSaysAuditOnce: the command's name comes once.
func TestAuditMessageSaysAuditOnce(t *testing.T) {
	r := run(t, nil, "audit", filepath.Join(t.TempDir(), "nope.parquet"))
	if r.code != ExitFailure || strings.Count(r.stderr, "audit") != 1 || !strings.Contains(r.stderr, "nope.parquet") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
}

// TestTruncatedGzipNamesFile: a gzip cut short is refused with its name.
func TestTruncatedGzipNamesFile(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw)
	zw.Close()
	path := filepath.Join(dir, "cut-short.csv.gz")
	if err := os.WriteFile(path, b.Bytes()[:b.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "ingest", "--store", filepath.Join(dir, "store"), path)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "cut-short.csv.gz: ") {
		t.Errorf("exit %d, want %d and the file's name:\n%s", r.code, ExitFailure, r.stderr)
	}
	// The file's content is never in the message.
	if strings.Contains(r.stderr, "+47") {
		t.Errorf("a subscriber number in the message:\n%s", r.stderr)
	}
}

// TestHelpOfEveryCommand: every command and subcommand's --help has what
// it does, a usage line, its flags as --flag, and an example; exit 0.
func TestHelpOfEveryCommand(t *testing.T) {
	var names []string
	for _, c := range commands() {
		if len(c.subs) == 0 {
			names = append(names, c.name)
		}
		for _, s := range c.subs {
			names = append(names, c.name+" "+s.name)
		}
	}
	single := regexp.MustCompile(`(^|\s)-[a-z][a-z-]+`) // -flag instead of --flag
	for _, name := range names {
		for _, form := range [][]string{append(strings.Fields(name), "--help"), append([]string{"help"}, strings.Fields(name)...)} {
			r := run(t, nil, form...)
			if r.code != ExitOK {
				t.Errorf("%s: exit %d\n%s", strings.Join(form, " "), r.code, r.stderr)
				continue
			}
			for _, want := range []string{"Usage:\n  usagereport " + name, "Flags:\n", "  -h, --help", "Examples:\n  usagereport " + name} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("%s lacks %q:\n%s", strings.Join(form, " "), want, r.stdout)
				}
			}
			flags := r.stdout[strings.Index(r.stdout, "Flags:"):strings.Index(r.stdout, "Examples:")]
			if strings.Count(flags, "--") < 2 && name != "audit" {
				t.Errorf("%s: no flags listed:\n%s", name, flags)
			}
			if m := single.FindString(flags); m != "" {
				t.Errorf("%s: a flag printed as %q:\n%s", name, m, flags)
			}
		}
	}
	for _, parent := range []string{"org", "token", "profile"} {
		r := mustRun(t, parent, "--help")
		if !strings.Contains(r.stdout, "Available Commands:") || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s --help:\n%s", parent, r.stdout)
		}
	}
	r := mustRun(t, "--help")
	for _, c := range commands() {
		if !strings.Contains(r.stdout, "  "+c.name+" ") {
			t.Errorf("usagereport --help lacks %s:\n%s", c.name, r.stdout)
		}
	}
	// Without a command: the help on standard error, exit 2.
	if r := run(t, nil); r.code != ExitUsage || !strings.Contains(r.stderr, "Available Commands:") {
		t.Errorf("no command: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCompletion: the shells' scripts, and flag names completed from a
// command's own flag set.
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := mustRun(t, "completion", sh)
		if !strings.Contains(r.stdout, "usagereport") || len(r.stdout) < 1000 {
			t.Errorf("completion %s: %d bytes", sh, len(r.stdout))
		}
	}
	r := mustRun(t, "__complete", "report", "--mo")
	if !strings.Contains(r.stdout, "--month\t") || strings.Contains(r.stdout, "--store") {
		t.Errorf("complete report --mo:\n%s", r.stdout)
	}
	r = mustRun(t, "__complete", "org", "a")
	if !strings.Contains(r.stdout, "add\t") {
		t.Errorf("complete org a:\n%s", r.stdout)
	}
	r = mustRun(t, "__complete", "org", "add", "--")
	if !strings.Contains(r.stdout, "--recipient\t") {
		t.Errorf("complete org add --:\n%s", r.stdout)
	}
}

// TestReportProgress draws report's progress on a fake terminal: rows
// read, then organisations suppressed and written; and nothing when
// standard error is not a terminal.
func TestReportProgress(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	mustRun(t, "ingest", "--store", store, sampleFile)
	e, stdout, stderr := testEnv(nil, testNow)
	e.Progress, e.ProgressInterval = true, time.Millisecond
	if code := Main(context.Background(), []string{"report", "--store", store, "--month", "2026-10", "--out", dir + "/out"}, e); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	orgs := regexp.MustCompile(`(\d+) reports? written`).FindStringSubmatch(stdout.String())
	if orgs == nil {
		t.Fatalf("no summary:\n%s", stdout.String())
	}
	for _, want := range []string{
		"\r\033[Kreading 2026-10  ",
		" rows ",
		"suppressed " + orgs[1] + "/" + orgs[1] + ", written " + orgs[1] + "/" + orgs[1] + " organisations",
		"\r\033[K",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress lacks %q:\n%q", want, stderr.String())
		}
	}
	if !strings.HasSuffix(stderr.String(), "\r\033[K") {
		t.Errorf("the progress line is not cleared at the end: %q", stderr.String())
	}

	r := mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", dir+"/out2")
	if r.stderr != "" {
		t.Errorf("not a terminal, yet stderr:\n%q", r.stderr)
	}
}

func TestHumanSizes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 12_345: "12 kB", 3_400_000: "3.4 MB", 5_600_000_000: "5.6 GB"} {
		if got := humansize.Decimal(n, "B"); got != want {
			t.Errorf("humansize.Decimal(%d, \"B\") = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{1: "1 file", 0: "0 files", 2: "2 files"} {
		if got := plural(n, "file", "files"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestHelpExamplesParse runs every help example's command line with
// --help added at the end: its flags must all exist and their values
// parse (an unknown flag fails before --help is reached), and nothing is
// run.
func TestHelpExamplesParse(t *testing.T) {
	n := 0
	for name, h := range helps {
		for _, line := range strings.Split(strings.ReplaceAll(h.example, "\\\n", " "), "\n") {
			if line == "" {
				continue
			}
			words := shellWords(t, line)
			if len(words) < 2 || words[0] != "usagereport" {
				t.Errorf("%s: example %q does not start with usagereport", name, line)
				continue
			}
			r := run(t, nil, append(words[1:], "--help")...)
			if r.code != ExitOK || !strings.Contains(r.stdout, "Usage:") {
				t.Errorf("%s: example %q: exit %d\n%s", name, line, r.code, r.stderr)
			}
			n++
		}
	}
	if n < len(helps) {
		t.Errorf("%d examples for %d commands", n, len(helps))
	}
}

// shellWords splits a command line as a shell would, for the examples'
// double quotes and spaces only.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
