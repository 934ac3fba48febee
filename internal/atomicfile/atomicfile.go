// Package atomicfile replaces a file whole: a reader sees the old file or
// the complete new one, never a part, and a crash leaves one of the two.
// The new content goes into a temporary file beside the final one
// (".<name>.<random>.tmp", which listings that skip dot files pass over),
// is synced, renamed over the final name, and the folder is synced so that
// the rename lasts.
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, with permissions mode.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	t, err := create(path, mode, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	return t.Commit()
}

// Write replaces path with what write writes, buffered, with permissions
// mode.
func Write(path string, mode os.FileMode, write func(io.Writer) error) error {
	t, err := Create(path, mode, write)
	if err != nil {
		return err
	}
	return t.Commit()
}

// Temp is a file written and synced beside its final path, not yet in
// place: for a caller that must record something durable before the file
// appears.
type Temp struct {
	Path  string // the temporary file
	Final string // where Commit puts it
}

// Create writes through write, buffered, into a synced temporary file
// beside path with permissions mode. A failed write leaves no temporary
// file; a killed process does.
func Create(path string, mode os.FileMode, write func(io.Writer) error) (*Temp, error) {
	return create(path, mode, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

func create(path string, mode os.FileMode, write func(*os.File) error) (t *Temp, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return nil, err
	}
	if err := f.Chmod(mode); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &Temp{Path: f.Name(), Final: path}, nil
}

// Commit renames the temporary file over its final path and syncs the
// folder. A failed rename removes the temporary file.
func (t *Temp) Commit() error {
	if err := os.Rename(t.Path, t.Final); err != nil {
		os.Remove(t.Path)
		return err
	}
	return SyncDir(filepath.Dir(t.Final))
}

// Discard removes the temporary file.
func (t *Temp) Discard() { os.Remove(t.Path) }

// SyncDir syncs a folder, so that the names created, renamed or removed in
// it last.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
