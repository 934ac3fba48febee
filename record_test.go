package usagereport

import (
	"strings"
	"testing"
)

// TestParseServiceFoldsLikeEqualFold checks ParseService against
// strings.EqualFold on every name with one byte replaced by any other, and
// on runes that fold to ASCII letters.
func TestParseServiceFoldsLikeEqualFold(t *testing.T) {
	want := func(b []byte) (Service, bool) {
		for i, n := range serviceNames {
			if len(b) == len(n) && strings.EqualFold(string(b), n) { // as ParseService was
				return Service(i), true
			}
		}
		return 0, false
	}
	check := func(b []byte) {
		t.Helper()
		gs, gok := ParseService(b)
		ws, wok := want(b)
		if gs != ws || gok != wok {
			t.Errorf("ParseService(%q) = %v, %v, want %v, %v", b, gs, gok, ws, wok)
		}
	}
	for _, n := range serviceNames {
		for i := range len(n) {
			for c := range 256 {
				b := []byte(n)
				b[i] = byte(c)
				check(b)
			}
		}
		check([]byte(strings.ToUpper(n)))
		check([]byte(n[1:]))
		check([]byte(n + "s"))
	}
	for _, s := range []string{"ſms", "ſm", "\u212aata", "", "Voice", "dAtA"} {
		check([]byte(s))
	}
}
