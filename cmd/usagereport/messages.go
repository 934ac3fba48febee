package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ur "usagereport"
)

// checkOutDir refuses a --out that exists and is not a folder, before any
// work: the error names the flag, not a month's file under it.
func checkOutDir(out string) error {
	fi, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // made on the first write
	case err != nil:
		return usagef("--out %s: %v", out, errors.Unwrap(err))
	case !fi.IsDir():
		return usagef("--out %s is a file; want a folder for the reports", out)
	}
	return nil
}

// noRecordsError says that the store holds nothing of month m, and which
// months it does hold.
func noRecordsError(ctx context.Context, st ur.Store, m ur.Month) error {
	months, err := st.Months(ctx)
	if err != nil {
		return fmt.Errorf("list months: %w", err)
	}
	if len(months) == 0 {
		return fmt.Errorf("the store holds no records of %s: it holds no month yet (ingest adds them)", m)
	}
	names := make([]string, len(months))
	for i, hm := range months {
		names[i] = hm.String()
	}
	return fmt.Errorf("the store holds no records of %s; it holds %s", m, strings.Join(names, ", "))
}

// namedFileError makes sure a file's error names the file: a reader's
// error (a truncated gzip says only "unexpected EOF") does not.
func namedFileError(path string, err error) error {
	name := filepath.Base(path)
	if strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("%s: file refused: %w", name, err)
}
