package suppress

import (
	"cmp"
	"slices"

	ur "usagereport"
)

// shapeIndex lists the cost-centre cells of each shape (mask of finest
// positions), cheapest first (costCmp, then index), for widener. It is
// made once per layout: values do not change while a layout is in use.
//
// A cell found hidden or fixed is dropped for good, by skip pointers, so
// that cost centres whose cells are all hidden (the many tiny ones of a
// large employer) are passed over once per Widen, not once per interval.
// That relies on what Widen does with its layout: within one Widen a
// cell is only ever hidden, never published again (Widen and Secondary
// only hide, and widener's trial moves are undone before it looks for the
// next candidate). A cell dropped wrongly would only be missed as a
// candidate, never published.
type shapeIndex struct {
	at   map[uint16][2]int32 // per mask: its range in list
	list []int32
	next []int32 // per position in list: next[k] == k, or a later one to look at instead
}

func (l *layout) shapeIndexOf(cells []ur.Cell) *shapeIndex {
	if l.shapes != nil {
		return l.shapes
	}
	x := &shapeIndex{at: map[uint16][2]int32{}}
	count := map[uint16]int32{}
	for c := range l.ccs {
		for _, i := range l.ccs[c].cells {
			count[l.mask[i]]++
		}
	}
	masks := make([]uint16, 0, len(count))
	for m := range count {
		masks = append(masks, m)
	}
	slices.Sort(masks)
	var n int32
	for _, m := range masks {
		x.at[m] = [2]int32{n, n}
		n += count[m]
	}
	x.list = make([]int32, n)
	for c := range l.ccs {
		for _, i := range l.ccs[c].cells {
			r := x.at[l.mask[i]]
			x.list[r[1]] = i
			r[1]++
			x.at[l.mask[i]] = r
		}
	}
	for _, r := range x.at {
		slices.SortFunc(x.list[r[0]:r[1]], func(a, b int32) int {
			if c := l.costCmp(&cells[a], &cells[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
	}
	x.next = make([]int32, n+1)
	for k := range x.next {
		x.next[k] = int32(k)
	}
	l.shapes = x
	return x
}

// find returns the first position at or after k not dropped.
func (x *shapeIndex) find(k int32) int32 {
	for x.next[k] != k {
		x.next[k] = x.next[x.next[k]] // path halving
		k = x.next[k]
	}
	return k
}

// shapeIter walks the cells of one shape, cheapest first.
type shapeIter struct {
	x      *shapeIndex
	k, end int32
}

func (x *shapeIndex) iter(m uint16) shapeIter {
	r, ok := x.at[m]
	if !ok {
		return shapeIter{x: x}
	}
	return shapeIter{x: x, k: r[0], end: r[1]}
}

// peek returns the current cell, or -1 at the end.
func (it *shapeIter) peek() int {
	if it.x.list == nil {
		return -1
	}
	it.k = it.x.find(it.k)
	if it.k >= it.end {
		return -1
	}
	return int(it.x.list[it.k])
}

// skip moves past the current cell.
func (it *shapeIter) skip() { it.k++ }

// drop moves past the current cell and drops it from the index.
func (it *shapeIter) drop() {
	it.x.next[it.k] = it.k + 1
	it.k++
}
