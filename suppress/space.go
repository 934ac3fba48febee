package suppress

import (
	"math/bits"

	ur "usagereport"
)

// Exact linear algebra for the suppression audit and for secondary
// suppression. Every subspace here lives in the 12-dimensional space of one
// cost centre's finest cells (service x zone), so vectors are fixed arrays
// and a subspace is at most a 12x12 matrix.
//
// Arithmetic is modulo the Mersenne prime 2^61-1, never floating point. A
// vector with small integer entries is in a span over the rationals exactly
// when it is in it modulo p, unless p divides one of the (few, bounded)
// minors the elimination meets; with p near 2.3e18 and the 0/1 vectors of a
// cube that does not happen in practice. Each step is exact: no rounding
// can make a published combination look harmless.

const (
	dim     = int(ur.NumServices) * int(ur.NumZones) // finest cells per cost centre
	modulus = 1<<61 - 1
)

type vec [dim]uint64

func addMod(a, b uint64) uint64 {
	s := a + b
	if s >= modulus {
		s -= modulus
	}
	return s
}

func subMod(a, b uint64) uint64 {
	if a >= b {
		return a - b
	}
	return a + modulus - b
}

func mulMod(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	// a*b = hi*2^64 + lo = (hi<<3 | lo>>61)*2^61 + (lo & p), and 2^61 = 1 (mod p).
	s := (lo & modulus) + (hi<<3 | lo>>61)
	if s >= modulus {
		s -= modulus
	}
	return s
}

func invMod(a uint64) uint64 {
	// The pivots of 0/1 rows are mostly 1 or -1: their own inverses.
	if a == 1 || a == modulus-1 {
		return a
	}
	// Fermat: a^(p-2).
	r, e := uint64(1), uint64(modulus-2)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = mulMod(r, a)
		}
		a = mulMod(a, a)
	}
	return r
}

// maskVec returns the 0/1 vector of a set of finest cells.
func maskVec(m uint16) vec {
	var v vec
	for i := range dim {
		if m&(1<<i) != 0 {
			v[i] = 1
		}
	}
	return v
}

// space is a subspace held in reduced row echelon form: row i has a 1 at
// column piv[i], and every other row has a 0 there.
type space struct {
	n    int
	piv  [dim]int8
	rows [dim]vec
}

// fullSpace returns the whole space.
func fullSpace() space {
	var s space
	for i := range dim {
		s.rows[i][i] = 1
		s.piv[i] = int8(i)
	}
	s.n = dim
	return s
}

// reduce returns v minus its component along the rows: zero exactly when v
// is in the span.
func (s *space) reduce(v vec) vec {
	for i := range s.n {
		eliminate(&v, &s.rows[i], int(s.piv[i]))
	}
	return v
}

// eliminate subtracts from v the multiple of r, normalised at its pivot
// p (r[p] = 1), that makes v[p] zero.
func eliminate(v, r *vec, p int) {
	f := v[p]
	if f == 0 {
		return
	}
	for j := range dim {
		if r[j] != 0 {
			v[j] = subMod(v[j], mulMod(f, r[j]))
		}
	}
}

// normalise scales r so that its first non-zero entry is 1, and returns
// that entry's index, its pivot; -1 when r is zero.
func normalise(r *vec) int {
	p := -1
	for j := range dim {
		if r[j] != 0 {
			p = j
			break
		}
	}
	if p < 0 || r[p] == 1 {
		return p
	}
	inv := invMod(r[p])
	for j := p; j < dim; j++ {
		if r[j] != 0 {
			r[j] = mulMod(r[j], inv)
		}
	}
	return p
}

func isZero(v *vec) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// contains reports whether v is in the span.
func (s *space) contains(v vec) bool {
	r := s.reduce(v)
	return isZero(&r)
}

// add adds v to the span and reports whether the span grew.
func (s *space) add(v vec) bool {
	r := s.reduce(v)
	return s.addReduced(r)
}

// addReduced adds a vector already reduced by s.
func (s *space) addReduced(r vec) bool {
	p := normalise(&r)
	if p < 0 {
		return false
	}
	for i := range s.n {
		eliminate(&s.rows[i], &r, p)
	}
	s.rows[s.n] = r
	s.piv[s.n] = int8(p)
	s.n++
	return true
}

// addMask adds the 0/1 vector of the finest cells in m.
func (s *space) addMask(m uint16) bool { return s.add(maskVec(m)) }

// addSpace adds every row of t.
func (s *space) addSpace(t *space) {
	for i := 0; i < t.n && s.n < dim; i++ {
		s.add(t.rows[i])
	}
}

// perp returns the annihilator of s: the vectors orthogonal to all of s.
// It is read off the reduced form: one vector per free column f, with a
// 1 at f, zero at every other free column, and minus row i's entry at f
// at row i's pivot. Those vectors are already in the reduced form a space
// keeps, with the free columns as pivots (each has a 1 at its own and a
// 0 at the others'), so they are taken as they are: adding them one by
// one, reducing each, was most of the cost of intersect.
//
// A space's pivots need not be the first non-zero entries of its rows:
// reduce, add and contains only need each row to have a 1 at its pivot
// and every other row a 0 there, and what they decide depends on the
// subspace alone (see greedy).
func (s *space) perp() space {
	var isPiv [dim]bool
	for i := range s.n {
		isPiv[s.piv[i]] = true
	}
	var out space
	for f := range dim {
		if isPiv[f] {
			continue
		}
		v := &out.rows[out.n]
		v[f] = 1
		for i := range s.n {
			if x := s.rows[i][f]; x != 0 {
				v[s.piv[i]] = subMod(0, x)
			}
		}
		out.piv[out.n] = int8(f)
		out.n++
	}
	return out
}

// intersect returns the intersection of a and b: the annihilator of the sum
// of their annihilators.
func intersect(a, b *space) space {
	if a.n == dim {
		return *b
	}
	if b.n == dim {
		return *a
	}
	if a.n == 0 || b.n == 0 {
		return space{}
	}
	pa, pb := a.perp(), b.perp()
	pa.addSpace(&pb)
	return pa.perp()
}
