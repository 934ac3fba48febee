package export

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// codeLine is how the README's Codes table writes one code.
func codeLine(c Code) string {
	return fmt.Sprintf("| `%s` | `%s` | %s |", c.Column, c.Code, c.Label)
}

// TestCodesInREADME checks that the README's Codes table lists every code with the
// label the workbook uses, so that the two cannot drift apart.
func TestCodesInREADME(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var missing []string
	for _, c := range Codes() {
		if !strings.Contains(readme, codeLine(c)+"\n") {
			missing = append(missing, codeLine(c))
		}
	}
	if len(missing) > 0 {
		t.Errorf("README's Codes table lacks these lines:\n%s", strings.Join(missing, "\n"))
	}
}

// TestCodesCoverEveryValue checks that Codes has every service, zone and grouping
// once, each with a label.
func TestCodesCoverEveryValue(t *testing.T) {
	want := map[string]int{"service": 4, "roaming_zone": 3, "grouping": 8}
	got := map[string]int{}
	seen := map[string]bool{}
	for _, c := range Codes() {
		got[c.Column]++
		if c.Label == "" || c.Code == "" || seen[c.Column+"/"+c.Code] {
			t.Errorf("code %+v empty or repeated", c)
		}
		seen[c.Column+"/"+c.Code] = true
	}
	for col, n := range want {
		if got[col] != n {
			t.Errorf("%d codes of %s, want %d", got[col], col, n)
		}
	}
}
