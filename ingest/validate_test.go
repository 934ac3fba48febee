package ingest

import (
	"bytes"
	"testing"
)

func TestTrimSpaceIsBytesTrimSpace(t *testing.T) {
	for _, s := range []string{
		"", " ", "a", " a", "a ", "\ta\r", "\u00a0a", "a\u00a0", "\u2003a\u2003", "\x85a",
		"a\x85", "\x7f", "\x7fa\x7f", "\xffa", "a\xff", "+4791234567", " \v\f ",
	} {
		if got, want := trimSpace([]byte(s)), bytes.TrimSpace([]byte(s)); !bytes.Equal(got, want) {
			t.Errorf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	}
}
