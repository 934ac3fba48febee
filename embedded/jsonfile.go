package embedded

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"usagereport/internal/atomicfile"
)

// The store's small JSON files (the registry, the tokens, a month's
// delivery ledger, ledger entries and publication records) are read whole
// and replaced whole: a reader needs no lock, and a writer that read,
// changed and wrote one under the store's lock never loses an update.

// readJSON decodes the JSON file at path into v and reports whether the
// file exists; a missing one leaves v as it is.
func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return true, nil
}

// writeJSON replaces the file at path with v as JSON, indented by indent
// and ending in a newline, mode 0600 (several of these files hold personal
// data).
func writeJSON(path string, v any, indent string) error {
	b, err := json.MarshalIndent(v, "", indent)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}
