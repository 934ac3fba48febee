package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	ur "usagereport"
	"usagereport/ingest"
)

// maxRejectionsShown is how many rejected rows a file lists on the terminal;
// the rest are counted by reason.
const maxRejectionsShown = 20

func runIngest(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "ingest", "--store DIR|URL [--key-file F] [--profile P] [--max-gzip-ratio R] [--allow-special] FILE...")
	storeSpec := storeFlag(fs)
	keyFile := fs.String("key-file", "", "file holding the pseudonym key (hex); else $"+envKey+", else the store's own")
	profileFile := fs.String("profile", "", "mapping profile (TOML) of the files' format; default CSV v1")
	maxGzipRatio := fs.Float64("max-gzip-ratio", ingest.DefaultMaxGzipRatio, "refuse a gzip file that expands more than this many times (0: no cap)")
	allowSpecial := fs.Bool("allow-special", false, "read FIFOs and devices too, not only regular files (an open may wait for a writer)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no files to ingest")
	}
	if *maxGzipRatio < 0 {
		return usagef("--max-gzip-ratio must be 0 (no cap) or more")
	}
	in := inputOptions{maxGzipRatio: *maxGzipRatio, allowSpecial: *allowSpecial}
	// A bad profile is refused before the store is touched.
	prof, err := loadProfile(*profileFile)
	if err != nil {
		return err
	}
	st, err := createStore(ctx, e, *storeSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := pseudonymKey(ctx, e, st, *keyFile)
	if err != nil {
		return err
	}
	if err := st.CheckKey(ctx, ingest.KeyFingerprint(key)); err != nil {
		return err
	}
	late, err := countLate(ctx, st)
	if err != nil {
		return err
	}
	var into ur.Store = st
	if late != nil {
		into = late
	}
	pseudo, err := ingest.NewPseudonymizer(key)
	if err != nil {
		return err
	}
	oslo, err := ingest.NewOslo()
	if err != nil {
		return fmt.Errorf("load Europe/Oslo: %w", err)
	}

	var sum ingestSummary
	sum.byReason = make(map[error]int64)
	for _, path := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := ingestPath(ctx, e, into, path, in, prof, pseudo, oslo)
		if err != nil {
			err = namedFileError(path, err)
			sum.refused++
			fmt.Fprintf(e.Stderr, "%v\n", err)
			continue
		}
		sum.add(res)
		printFileResult(e, res)
	}
	sum.print(e)
	fmt.Fprint(e.Stdout, late.summary())
	if sum.refused > 0 {
		return fmt.Errorf("%d of %d files refused", sum.refused, len(fs.Args()))
	}
	return nil
}

// inputOptions are how ingest opens its files.
type inputOptions struct {
	maxGzipRatio float64 // see ingest.FileSource
	allowSpecial bool    // read FIFOs and devices, not only regular files
}

// openInput opens path for reading. Unless allowSpecial, it refuses
// anything but a regular file, before opening it (a FIFO without a writer
// would hang in open) and again after (opened without blocking, in case
// the path changed in between).
func openInput(path, name string, allowSpecial bool) (*os.File, error) {
	if !allowSpecial {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("%s: file refused: %w", name, errors.Unwrap(err))
		}
		if err := regularOnly(name, fi); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: file refused: %w", name, errors.Unwrap(err))
		}
		if fi, err = f.Stat(); err != nil || regularOnly(name, fi) != nil {
			f.Close()
			return nil, regularOnly(name, fi)
		}
		return f, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: file refused: %w", name, errors.Unwrap(err))
	}
	return f, nil
}

// regularOnly refuses fi unless it is a regular file.
func regularOnly(name string, fi os.FileInfo) error {
	if fi == nil {
		return fmt.Errorf("%s: file refused: cannot stat it", name)
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return fmt.Errorf("%s: file refused: a directory", name)
	default:
		return fmt.Errorf("%s: file refused: not a regular file (a FIFO, device or socket); give --allow-special to read it", name)
	}
}

// ingestPath ingests one file, read with prof (nil: CSV v1's own reader).
func ingestPath(ctx context.Context, e *Env, st ur.Store, path string, in inputOptions, prof *ingest.Profile, pseudo *ingest.Pseudonymizer, oslo *ingest.Oslo) (*ingest.Result, error) {
	name := filepath.Base(path)
	f, err := openInput(path, name, in.allowSpecial)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	p := startProgress(e, name, size)
	defer p.done()
	src := ingest.FileSource(f, in.maxGzipRatio, p.add)
	if prof == nil {
		return ingest.File(ctx, st, src, name, pseudo, oslo)
	}
	r, err := prof.Open(src, name, pseudo, oslo)
	if err != nil {
		return nil, err
	}
	return ingest.FileWith(ctx, st, r, name)
}

func printFileResult(e *Env, res *ingest.Result) {
	if res.AlreadyIngested {
		if a := res.Already; a != nil {
			what := "the same records"
			if a.SameBytes {
				what = "the same content"
			}
			fmt.Fprintf(e.Stdout, "%s: %s, %s (sha256 %s…), nothing changed\n", res.Name, a.Error(), what, hex.EncodeToString(res.SHA256[:6]))
			return
		}
		fmt.Fprintf(e.Stdout, "%s: already ingested (sha256 %s…), nothing changed\n", res.Name, hex.EncodeToString(res.SHA256[:6]))
		return
	}
	fmt.Fprintf(e.Stdout, "%s: %s stored, %d rejected, of %s read\n", res.Name, plural(res.Rows, "row", "rows"), res.Rejected, plural(res.Read, "row", "rows"))
	for i, rej := range res.Rejections {
		if i == maxRejectionsShown {
			fmt.Fprintf(e.Stdout, "  … and %d more rejected rows (counted by reason below)\n", res.Rejected-maxRejectionsShown)
			break
		}
		fmt.Fprintf(e.Stdout, "  rejected %s\n", rej.Error())
	}
}

type ingestSummary struct {
	files, already, refused int
	read, rows, rejected    int64
	byReason                map[error]int64
}

func (s *ingestSummary) add(res *ingest.Result) {
	s.files++
	if res.AlreadyIngested {
		s.already++
		return
	}
	s.read += res.Read
	s.rows += res.Rows
	s.rejected += res.Rejected
	for r, n := range res.ByReason {
		s.byReason[r] += n
	}
}

func (s *ingestSummary) print(e *Env) {
	fmt.Fprintf(e.Stdout, "ingested %s (%d already ingested, %d refused): %s stored, %d rejected, of %s read\n",
		plural(int64(s.files), "file", "files"), s.already, s.refused, plural(s.rows, "row", "rows"), s.rejected, plural(s.read, "row", "rows"))
	var parts []string
	for _, r := range slices.Concat(ingest.Reasons, ingest.ProfileReasons) {
		if n := s.byReason[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %v", n, r))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(e.Stdout, "rejected by reason: %s\n", strings.Join(parts, "; "))
	}
}
