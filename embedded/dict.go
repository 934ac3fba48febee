package embedded

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"

	ur "usagereport"
)

// The segment writer's dictionaries hold one entry per distinct subscriber
// and cost centre of a month: with a million subscribers of a row each,
// their size is much of the ingest's memory. So they are compact, and grow
// without copying what they hold. A subscriber or cost centre that comes
// with the run's id of it (the ingest's fast path) costs a month's segment
// 4 bytes, in the page of byRunID that its id falls in. One without (a
// mapping profile's rows) costs 16 bytes for its pseudonym (or a string
// header: the name's bytes are the run's, interned by the ingest), 8 for
// its index and 5 to 11 for the table that finds it by value.

// pageBits sets the entries of a page: 4,096, so that a page of pseudonyms
// is 64 KiB and a dictionary grows by a page, not by doubling.
const pageBits = 12

// pages is an append-only list that grows a page at a time.
type pages[T any] struct {
	p [][]T
	n uint64
}

func (l *pages[T]) add(v T) uint64 {
	i := l.n
	if i>>pageBits == uint64(len(l.p)) {
		l.p = append(l.p, make([]T, 1<<pageBits))
	}
	l.p[i>>pageBits][i&(1<<pageBits-1)] = v
	l.n++
	return i
}

func (l *pages[T]) at(i uint64) T { return l.p[i>>pageBits][i&(1<<pageBits-1)] }

// byRunID maps the caller's run ids (see fileWriter.AddWithIDs) to 1 + an
// index of the segment, 0 for none yet, in pages made as ids reach them.
type byRunID struct{ p [][]uint32 }

func (x *byRunID) get(id uint32) uint32 {
	if p := int(id >> pageBits); p < len(x.p) && x.p[p] != nil {
		return x.p[p][id&(1<<pageBits-1)]
	}
	return 0
}

func (x *byRunID) set(id uint32, v uint32) {
	p := int(id >> pageBits)
	if p >= len(x.p) {
		x.p = append(x.p, make([][]uint32, p+1-len(x.p))...)
	}
	if x.p[p] == nil {
		x.p[p] = make([]uint32, 1<<pageBits)
	}
	x.p[p][id&(1<<pageBits-1)] = v
}

// slotIndex finds a dictionary entry by its value: an open-addressing
// table of 1 + the entry's index, 0 for an empty slot, which its owner
// probes by the value's hash and checks against the entry.
type slotIndex struct {
	slots []uint32 // a power of two of them, at most 3/4 used
	n     int
}

// probe calls match with the index of each entry in h's probe sequence
// until it returns true (then probe returns the index and true) or an
// empty slot ends the sequence.
func (x *slotIndex) probe(h uint64, match func(uint64) bool) (uint64, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return 0, false
		}
		if match(uint64(v - 1)) {
			return uint64(v - 1), true
		}
	}
}

// insert adds entry i, whose value hashes to h; hash gives the hash of
// any entry, to move them into a larger table.
func (x *slotIndex) insert(h uint64, i uint64, hash func(uint64) uint64) {
	if (x.n+1)*4 > len(x.slots)*3 {
		old := x.slots
		x.slots = make([]uint32, max(1024, 2*len(old)))
		for _, v := range old {
			if v != 0 {
				x.put(hash(uint64(v-1)), v)
			}
		}
	}
	x.put(h, uint32(i+1))
	x.n++
}

func (x *slotIndex) put(h uint64, v uint32) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = v
}

// subDict finds a segment's index of a pseudonym that came without a run
// id.
type subDict struct {
	list pages[ur.Pseudonym]
	seg  pages[uint64] // seg[k]: the segment's index of list[k]
	idx  slotIndex     // of positions in list
}

// subHash mixes a pseudonym's first 8 bytes, which a keyed hash makes
// uniform already; the mix keeps the table's probes short for pseudonyms
// that are not (a test's, say).
func subHash(p *ur.Pseudonym) uint64 {
	return bits.RotateLeft64(binary.LittleEndian.Uint64(p[:8])*0x9e3779b97f4a7c15, 32)
}

func (d *subDict) get(p ur.Pseudonym) (uint64, bool) {
	k, ok := d.idx.probe(subHash(&p), func(k uint64) bool { return d.list.at(k) == p })
	if !ok {
		return 0, false
	}
	return d.seg.at(k), true
}

// add notes that p, which get did not find, is the segment's index i.
func (d *subDict) add(p ur.Pseudonym, i uint64) {
	k := d.list.add(p)
	d.seg.add(i)
	d.idx.insert(subHash(&p), k, func(j uint64) uint64 { q := d.list.at(j); return subHash(&q) })
}

// ccDict is subDict for cost centre names.
type ccDict struct {
	seed  maphash.Seed
	names pages[string]
	seg   pages[uint64]
	idx   slotIndex
}

func newCCDict() ccDict { return ccDict{seed: maphash.MakeSeed()} }

func (d *ccDict) get(s string) (uint64, bool) {
	k, ok := d.idx.probe(maphash.String(d.seed, s), func(k uint64) bool { return d.names.at(k) == s })
	if !ok {
		return 0, false
	}
	return d.seg.at(k), true
}

// add notes that s, which get did not find, is the segment's index i.
func (d *ccDict) add(s string, i uint64) {
	k := d.names.add(s)
	d.seg.add(i)
	d.idx.insert(maphash.String(d.seed, s), k, func(j uint64) uint64 { return maphash.String(d.seed, d.names.at(j)) })
}

// orgIndex numbers a segment's organisations in the order first added:
// an open-addressing table of (org, 1 + index), a few hundred of them at
// most, where a map cost a hash call a row.
type orgIndex struct {
	slots []orgSlot // a power of two of them, at most half used
	n     uint64
}

type orgSlot struct {
	org ur.Org
	i   uint32 // 1 + the index; 0 for an empty slot
}

func orgHome(o ur.Org, mask uint64) uint64 {
	return uint64(o) * 0x9e3779b97f4a7c15 >> 32 & mask
}

func (x *orgIndex) get(o ur.Org) (uint64, bool) {
	mask := uint64(len(x.slots) - 1)
	for i := orgHome(o, mask); len(x.slots) > 0; i = (i + 1) & mask {
		s := x.slots[i]
		if s.i == 0 {
			break
		}
		if s.org == o {
			return uint64(s.i - 1), true
		}
	}
	return 0, false
}

// touch reads o's home slot, for AddBatch to wait for it with others; it
// returns what it read, for the caller to keep.
func (x *orgIndex) touch(o ur.Org) uint32 {
	if len(x.slots) == 0 {
		return 0
	}
	return x.slots[orgHome(o, uint64(len(x.slots)-1))].i
}

// add numbers o, which get did not find.
func (x *orgIndex) add(o ur.Org) uint64 {
	if 2*(x.n+1) > uint64(len(x.slots)) {
		old := x.slots
		x.slots = make([]orgSlot, max(64, 2*len(old)))
		for _, s := range old {
			if s.i != 0 {
				x.put(s)
			}
		}
	}
	x.put(orgSlot{org: o, i: uint32(x.n + 1)})
	x.n++
	return x.n - 1
}

func (x *orgIndex) put(s orgSlot) {
	mask := uint64(len(x.slots) - 1)
	i := orgHome(s.org, mask)
	for x.slots[i].i != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = s
}
