package suppress

import "math/bits"

// Rank selection modulo a prime: which equations are independent.

// reduceBy subtracts from v, modulo the prime, the multiples of the basis
// rows that clear their pivots (row k has a 1 at pivots[k]), and returns
// the index of v's first non-zero entry, or -1 when v is in their span.
func reduceBy(v []uint64, basis [][]uint64, pivots []int) int {
	for k, b := range basis {
		// b is zero before its pivot. The rows are 0/1 to begin with,
		// so the factor is mostly 1 or -1: subtracting b or -b is adding
		// -b or b, the same residues without the multiplication.
		p := pivots[k]
		switch f := v[p]; f {
		case 0:
		// (Every entry, zeros of b included, which leave v's as they
		// are: a loop without a branch on b's mostly unpredictable
		// zeros.)
		case 1:
			v, b := v[p:], b[p:len(v)]
			for j, x := range v {
				// subMod(x, b[j]), with the modulus added back by mask
				d, borrow := bits.Sub64(x, b[j], 0)
				v[j] = d + modulus&-borrow
			}
		case modulus - 1:
			v, b := v[p:], b[p:len(v)]
			for j, x := range v {
				v[j] = addMod(x, b[j])
			}
		default:
			for j := p; j < len(v); j++ {
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
