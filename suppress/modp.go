package suppress

// Rank selection modulo a prime: which equations are independent.

// reduceBy subtracts from v, modulo the prime, the multiples of the basis
// rows that clear their pivots (row k has a 1 at pivots[k]), and returns
// the index of v's first non-zero entry, or -1 when v is in their span.
func reduceBy(v []uint64, basis [][]uint64, pivots []int) int {
	for k, b := range basis {
		// b is zero before its pivot.
		if f := v[pivots[k]]; f != 0 {
			for j := pivots[k]; j < len(v); j++ {
				if b[j] != 0 {
					v[j] = subMod(v[j], mulMod(f, b[j]))
				}
			}
		}
	}
	for j, x := range v {
		if x != 0 {
			return j
		}
	}
	return -1
}
