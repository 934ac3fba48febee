// Package humansize writes a size in bytes as a person reads it, in
// decimal units: 999 B, 1.2 kB, 34 MB, 5.6 GB.
package humansize

import "fmt"

// Decimal is n bytes in decimal units, one decimal below 10 (3.0 kB,
// 4.5 MB) and none from 10 on (12 kB); below 1 kB it is n followed by
// unit, the word for bytes ("B", or "bytes" in prose).
func Decimal(n int64, unit string) string {
	const k = 1000
	if n < k {
		return fmt.Sprintf("%d %s", n, unit)
	}
	f, i := float64(n), -1
	for f >= k && i < 4 {
		f /= k
		i++
	}
	if f < 10 {
		return fmt.Sprintf("%.1f %cB", f, "kMGTP"[i])
	}
	return fmt.Sprintf("%.0f %cB", f, "kMGTP"[i])
}
