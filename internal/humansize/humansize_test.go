package humansize

import "testing"

func TestDecimal(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		unit string
		want string
	}{
		{0, "B", "0 B"},
		{999, "bytes", "999 bytes"},
		{1000, "B", "1.0 kB"},
		{3000, "bytes", "3.0 kB"},
		{12_345, "B", "12 kB"},
		{3_400_000, "B", "3.4 MB"},
		{5_600_000_000, "B", "5.6 GB"},
		{7_000_000_000_000, "B", "7.0 TB"},
		{2_500_000_000_000_000, "B", "2.5 PB"},
		{9_000_000_000_000_000_000, "B", "9000 PB"},
	} {
		if got := Decimal(tt.n, tt.unit); got != tt.want {
			t.Errorf("Decimal(%d, %q) = %q, want %q", tt.n, tt.unit, got, tt.want)
		}
	}
}
