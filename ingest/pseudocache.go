package ingest

import (
	"hash"
	"math"
	"strconv"
	"sync"
	"sync/atomic"

	ur "usagereport"
)

// pseudoCache maps numbers, read as integers, to their pseudonyms and ids:
// an open-addressing table that ReadAll's workers share. A lookup is one
// probe of a 32-byte slot in the usual case, without a lock; a number not
// yet seen takes the lock, which the run takes once per subscriber.
//
// A slot is published by storing its number last, atomically: a reader
// that loads the number sees the rest of the slot. A full table is copied
// into one twice its size, published in turn; a reader still on the old
// one may miss a number added since, and then finds it under the lock.
type pseudoCache struct {
	tab atomic.Pointer[pseudoTable]

	mu     sync.Mutex // held to add
	n      int        // numbers in tab
	mac    hash.Hash  // HMAC-SHA256 under the key; under mu
	sum    []byte
	number []byte // the E.164 number being pseudonymised; under mu
}

type pseudoTable struct {
	slots []pseudoSlot // a power of two of them
	shift uint8        // 64 - log2(len(slots))
}

type pseudoSlot struct {
	num atomic.Uint64 // the number, 0 for an empty slot (no number is 0)
	id  uint32
	p   ur.Pseudonym
}

// pseudoMinSlots is the size of a new table.
const pseudoMinSlots = 1 << 10

func (c *pseudoCache) init(mac hash.Hash) {
	c.mac = mac
	c.tab.Store(newPseudoTable(pseudoMinSlots))
}

func newPseudoTable(n int) *pseudoTable {
	shift := uint8(64)
	for m := n; m > 1; m >>= 1 {
		shift--
	}
	return &pseudoTable{slots: make([]pseudoSlot, n), shift: shift}
}

// home is the first slot to probe for num: Fibonacci hashing, which
// spreads numbers that differ only in their last digits.
func (t *pseudoTable) home(num uint64) uint64 {
	return (num * 0x9e3779b97f4a7c15) >> t.shift
}

// find returns num's slot in t, or nil.
func (t *pseudoTable) find(num uint64) *pseudoSlot {
	mask := uint64(len(t.slots) - 1)
	for i := t.home(num); ; i = (i + 1) & mask {
		s := &t.slots[i]
		switch s.num.Load() {
		case num:
			return s
		case 0:
			return nil
		}
	}
}

// put fills an empty slot for num, which t lacks; the caller holds the lock.
func (t *pseudoTable) put(num uint64, id uint32, p ur.Pseudonym) {
	mask := uint64(len(t.slots) - 1)
	i := t.home(num)
	for t.slots[i].num.Load() != 0 {
		i = (i + 1) & mask
	}
	s := &t.slots[i]
	s.id, s.p = id, p
	s.num.Store(num)
}

// get returns num's slot, or nil if the cache lacks it. The slot is read
// only: it never changes once found.
func (c *pseudoCache) get(num uint64) *pseudoSlot {
	return c.tab.Load().find(num)
}

// touch reads the home slot of each of nums, in a loop whose reads do not
// depend on one another and that has no branch to mispredict: the
// processor then waits for many of these cache misses at once, where
// lookups one after another (each a branch on what it read) overlap few.
// With millions of subscribers the table is far larger than the caches,
// and a lookup's miss cost more than the rest of the row's checks. The
// lookups that follow find their slots in the cache. It returns a sum of
// what it read, for the caller to keep, so that the reads are not
// dropped.
func (c *pseudoCache) touch(nums []uint64) uint64 {
	t := c.tab.Load()
	var sum uint64
	for _, num := range nums {
		sum += t.slots[t.home(num)].num.Load()
	}
	return sum
}

// add returns the pseudonym and id of num, making them if no other
// goroutine has.
func (c *pseudoCache) add(num uint64) (ur.Pseudonym, uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tab.Load()
	if s := t.find(num); s != nil {
		return s.p, s.id
	}
	c.number = strconv.AppendUint(append(c.number[:0], '+'), num, 10)
	c.mac.Reset()
	c.mac.Write(c.number)
	clear(c.number)
	c.sum = c.mac.Sum(c.sum[:0])
	var p ur.Pseudonym
	copy(p[:], c.sum)
	c.n++
	var id uint32
	if c.n <= math.MaxUint32 {
		id = uint32(c.n)
	}
	if c.n > len(t.slots)*3/4 { // a fuller table probes too far
		g := newPseudoTable(2 * len(t.slots))
		for i := range t.slots {
			s := &t.slots[i]
			if k := s.num.Load(); k != 0 {
				g.put(k, s.id, s.p)
			}
		}
		c.tab.Store(g)
		t = g
	}
	t.put(num, id, p)
	return p, id
}
