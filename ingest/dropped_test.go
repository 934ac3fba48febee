package ingest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReaderDropped: the CSV v1 Reader names the header's columns it does
// not keep, withholding a name that looks like a value, and never a value
// of those columns.
func TestReaderDropped(t *testing.T) {
	for _, tt := range []struct {
		name, header string
		want         []string
	}{
		{"none", "org_number,subscriber,start_time,service,charge", nil},
		{"call parties", "org_number,b_number,subscriber,B_Name,start_time,service,charge", []string{"b_number", "B_Name"}},
		{"a value for a name", "org_number,subscriber,start_time,service,charge,+4791234567", []string{withheld}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := NewPseudonymizer(testKey)
			o, _ := NewOslo()
			r, err := NewReader(strings.NewReader(tt.header+"\n"), "export.csv", p, o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.Dropped()); diff != "" {
				t.Errorf("Dropped (-want +got):\n%s", diff)
			}
		})
	}
}
