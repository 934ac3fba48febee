package main

import (
	"bufio"
	"context"
	"fmt"
	"os"

	"usagereport/fixtures"
)

func runGenerate(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "generate", "--out FILE [--rows N] [--seed S] [--orgs N] [--first-month YYYY-MM] [--gzip]")
	out := fs.String("out", "", "file to write (- for standard output)")
	var c fixtures.Config
	fs.IntVar(&c.Rows, "rows", 10_000, "data rows")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed: the same seed gives the same bytes")
	fs.IntVar(&c.Orgs, "orgs", 0, "organisations (0: scale with rows)")
	fs.StringVar(&c.FirstMonth, "first-month", "2026-10", "first month; events span it and the next")
	fs.BoolVar(&c.Gzip, "gzip", false, "gzip the output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if err := c.Validate(); err != nil {
		return usagef("%v", err)
	}
	w := e.Stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := fixtures.Generate(ctx, bw, c); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if f != nil {
		return f.Close()
	}
	return nil
}
