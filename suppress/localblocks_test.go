package suppress

import (
	"cmp"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// localBlocksScan is localBlocks written plainly: a scan and a sort of
// every cost centre per pass, ties broken by the cost centres' numbers
// counted from the one after b. localBlocks must choose exactly as it
// does, only without the scan.
func localBlocksScan(l *layout, hf []uint16, b int32, targets []int, limit int) []int32 {
	chosen := make([]bool, len(hf))
	// after numbers the cost centres from the one after b, cyclically.
	after := func(e int32) int {
		return (int(e) - int(b) - 1 + len(hf)) % len(hf)
	}
	var out []int32
	var union uint16
	n := 0
	take := func(e int32) {
		chosen[e] = true
		out = append(out, e)
		union |= hf[e]
		n += bits.OnesCount16(hf[e])
	}
	if b >= 0 {
		take(b)
	} else {
		var want uint16
		for _, i := range targets {
			want |= l.mask[i]
		}
		union = want
	}
	for range 2 {
		type cand struct {
			e       int32
			ov, unk int
		}
		var cs []cand
		for e, m := range hf {
			if chosen[e] || m == 0 {
				continue
			}
			if ov := bits.OnesCount16(m & union); ov > 0 {
				cs = append(cs, cand{int32(e), ov, bits.OnesCount16(m)})
			}
		}
		slices.SortFunc(cs, func(x, y cand) int {
			if c := cmp.Compare(y.ov, x.ov); c != 0 {
				return c
			}
			if c := cmp.Compare(x.unk, y.unk); c != 0 {
				return c
			}
			return cmp.Compare(after(x.e), after(y.e))
		})
		for _, c := range cs {
			if n+c.unk <= limit {
				take(c.e)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestLocalBlocksAsScan compares localBlocks with the scan it replaces on
// random hidden patterns: few distinct masks over many cost centres (many
// ties), and many distinct ones; targets in a cost centre and global
// ones; both limits.
func TestLocalBlocksAsScan(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ccs, masks int // cost centres; distinct masks to draw from (0: any)
		density    int // one cost centre in density has hidden cells
	}{
		{"few masks", 300, 4, 1},
		{"some masks", 500, 40, 2},
		{"any mask", 200, 0, 1},
		{"sparse", 400, 12, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.ccs), uint64(tc.masks)))
			pool := make([]uint16, tc.masks)
			for k := range pool {
				pool[k] = uint16(1 + r.IntN(allMask))
				if r.IntN(2) == 0 { // small masks: one or two positions
					pool[k] = 1<<r.IntN(dim) | 1<<r.IntN(dim)
				}
			}
			for round := range 20 {
				hf := make([]uint16, tc.ccs)
				for e := range hf {
					if r.IntN(tc.density) != 0 {
						continue
					}
					if len(pool) > 0 {
						hf[e] = pool[r.IntN(len(pool))]
					} else {
						hf[e] = uint16(r.IntN(allMask + 1))
					}
				}
				// One global target cell per finest position and a few
				// coarser ones: layout masks of cells 0..dim+2.
				l := &layout{}
				for j := range dim {
					l.mask = append(l.mask, 1<<j)
				}
				l.mask = append(l.mask, 0b111, 0b111000, allMask)
				for _, limit := range []int{localUnknowns, localUnknownsWide, 5} {
					for try := range 10 {
						b := int32(r.IntN(tc.ccs))
						var targets []int
						if try%3 == 0 {
							b = -1
							targets = []int{r.IntN(len(l.mask)), r.IntN(len(l.mask))}
						}
						want := localBlocksScan(l, hf, b, targets, limit)
						got := l.localBlocks(hf, b, targets, limit)
						if !slices.Equal(got, want) {
							t.Fatalf("round %d, block %d, targets %v, limit %d:\ngot  %v\nwant %v", round, b, targets, limit, got, want)
						}
					}
				}
			}
		})
	}
}

// TestHfIndexOfKnowsItsSlice checks that the layout's index is made again
// for a new hiddenFine result, even one equal in content and length.
func TestHfIndexOfKnowsItsSlice(t *testing.T) {
	l := &layout{}
	a := []uint16{1, 0, 3, 1}
	x := l.hfIndexOf(a)
	if l.hfIndexOf(a) != x {
		t.Errorf("the same slice got a new index")
	}
	b := []uint16{2, 2, 0, 0}
	y := l.hfIndexOf(b)
	if y == x {
		t.Fatalf("another slice got the old index")
	}
	if got, want := fmt.Sprint(y.masks, y.byMask), "[2] [[0 1]]"; got != want {
		t.Errorf("index of %v: got %s, want %s", b, got, want)
	}
	if got, want := fmt.Sprint(x.masks, x.byMask), "[1 3] [[0 3] [2]]"; got != want {
		t.Errorf("index of %v: got %s, want %s", a, got, want)
	}
}
