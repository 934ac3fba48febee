package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps the first failure instead of failing.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Errorf(format string, args ...any) {
	if r.msg == "" {
		r.msg = fmt.Sprintf(format, args...)
	}
}

func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

func TestCompareAndUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.txt")
	*update = true
	Compare(t, path, "one\n")
	*update = false
	if got, err := os.ReadFile(path); err != nil || string(got) != "one\n" {
		t.Fatalf("-update wrote %q, %v; want %q", got, err, "one\n")
	}

	for _, tt := range []struct {
		name, path, got, want string // want: a part of the failure, "" for none
	}{
		{"same", path, "one\n", ""},
		{"differs", path, "two\n", "differs (-want +got)"},
		{"missing", path + ".none", "one\n", "-update to create it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Compare(r, tt.path, tt.got)
			switch {
			case tt.want == "" && r.msg != "":
				t.Errorf("failed: %s", r.msg)
			case tt.want != "" && !strings.Contains(r.msg, tt.want):
				t.Errorf("failure %q, want one with %q", r.msg, tt.want)
			}
		})
	}
}
