package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

func walkFiles(dir string, fn func(path string, r io.Reader) error) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return fn(path, f)
	})
}
