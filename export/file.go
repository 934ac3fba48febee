package export

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	ur "usagereport"
)

// Path returns where the report of org and month with extension ext
// ("parquet", "xlsx") lives under dir: dir/<org>/<org>-<YYYY-MM>.<ext>.
func Path(dir string, org ur.Org, m ur.Month, ext string) string {
	return filepath.Join(dir, org.String(), fmt.Sprintf("%s-%s.%s", org, m, ext))
}

// WriteFileAtomic writes a file through write: into a temporary file beside
// path, synced, then renamed over path. A reader sees the old file or the
// whole new one, never a part; a failed write leaves no temporary file.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report folder: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary report file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("set mode of %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", filepath.Base(path), err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}
