package ingest

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"unsafe"
)

// ccNames interns a run's cost centre names: one string per distinct name
// for the whole run, shared by ReadAll's workers, each name numbered 1, 2,
// ... as first seen, so that a store's writer finds a cost centre by
// indexing a slice (see ur.FileWriter.AddBatch). Like pseudoCache, a lookup reads
// without a lock; a name not yet seen takes the lock, once per name.
//
// A name costs an 8-byte slot (the table at most 3/4 full), its string
// header in a page and its bytes, packed into slabs: about 45 bytes for a
// name of 15 bytes. Per-worker maps from name to string, which this
// replaces, held each name twice per worker, in about 100 bytes.
//
// Ids are numbered in the order the workers first see the names, which
// varies from run to run; they are never written anywhere.
type ccNames struct {
	tab  atomic.Pointer[ccTable]
	dir  atomic.Pointer[[]*ccPage] // names by id: see name
	seed maphash.Seed

	mu    sync.Mutex // held to add
	n     uint32     // names in tab
	arena []byte     // the unused rest of the current slab of name bytes; under mu
}

// ccTable is an open-addressing table of ids: a slot holds the top 32 bits
// of its name's hash and its id, 0 when empty (no id is 0). A slot is
// written once, after the name it stands for, atomically.
type ccTable struct {
	slots []atomic.Uint64 // a power of two of them
	mask  uint64
}

const (
	ccPageBits = 12
	ccMinSlots = 1 << 10
	ccSlab     = 64 << 10
)

type ccPage [1 << ccPageBits]string

func newCCNames() *ccNames {
	c := &ccNames{seed: maphash.MakeSeed()}
	c.tab.Store(&ccTable{slots: make([]atomic.Uint64, ccMinSlots), mask: ccMinSlots - 1})
	dir := []*ccPage{new(ccPage)}
	c.dir.Store(&dir)
	return c
}

// name returns the name numbered id, which a slot has published.
func (c *ccNames) name(id uint32) string {
	dir := *c.dir.Load()
	return dir[id>>ccPageBits][id&(1<<ccPageBits-1)]
}

// find returns b's interned string and id, or false if t lacks it.
func (c *ccNames) find(t *ccTable, b []byte, h uint64) (string, uint32, bool) {
	tag := h >> 32
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		v := t.slots[i].Load()
		if v == 0 {
			return "", 0, false
		}
		if v>>32 == tag {
			if s := c.name(uint32(v)); s == string(b) {
				return s, uint32(v), true
			}
		}
	}
}

// get returns the interned string and id of b, if some goroutine has
// added it.
func (c *ccNames) get(b []byte) (string, uint32, bool) {
	return c.find(c.tab.Load(), b, maphash.Bytes(c.seed, b))
}

// add returns the interned string and id of b, interning it if no other
// goroutine has.
func (c *ccNames) add(b []byte) (string, uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := maphash.Bytes(c.seed, b)
	t := c.tab.Load()
	if s, id, ok := c.find(t, b, h); ok {
		return s, id
	}
	var s string
	if len(b) > 0 {
		if len(c.arena) < len(b) {
			c.arena = make([]byte, max(ccSlab, len(b)))
		}
		n := copy(c.arena, b)
		s = unsafe.String(&c.arena[0], n)
		c.arena = c.arena[n:]
	}
	c.n++
	id := c.n
	dir := *c.dir.Load()
	if p := int(id >> ccPageBits); p == len(dir) {
		dir = append(dir[:len(dir):len(dir)], new(ccPage))
		c.dir.Store(&dir)
	}
	dir[id>>ccPageBits][id&(1<<ccPageBits-1)] = s
	if uint64(c.n) > (t.mask+1)*3/4 { // a fuller table probes too far
		g := &ccTable{slots: make([]atomic.Uint64, 2*(t.mask+1)), mask: 2*t.mask + 1}
		for k := uint32(1); k < id; k++ {
			g.put(maphash.String(c.seed, c.name(k)), k)
		}
		c.tab.Store(g)
		t = g
	}
	t.put(h, id)
	return s, id
}

// put fills an empty slot for id, whose name's hash is h; the caller holds
// the lock.
func (t *ccTable) put(h uint64, id uint32) {
	i := h & t.mask
	for t.slots[i].Load() != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i].Store(h>>32<<32 | uint64(id))
}
