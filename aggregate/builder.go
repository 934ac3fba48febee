package aggregate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	ur "usagereport"
)

// ErrOverflow reports a sum that no longer fits its column.
var ErrOverflow = errors.New("sum overflows int64")

// Builder collects the records of one month, for any number of
// organisations. Its memory grows with the distinct (subscriber, cost
// centre, service, zone) combinations, not with the number of records.
type Builder struct {
	month ur.Month
	orgs  map[ur.Org]*orgAcc
	last  *orgAcc // records of one organisation tend to come together
	batch batchState
	// sealed: Seal dropped what only adding records needs.
	sealed bool
}

// ErrSealed is the error of adding records to a sealed Builder.
var ErrSealed = errors.New("records added after Seal")

// Seal ends the adding of records: it drops what only adding needs, the
// subscribers' pseudonyms and their index, the cost centres' index and
// AddBatch's caches, and keeps what the cubes are computed from, flat
// (see orgAcc.flatten). A run
// holds the month's finest sums of every organisation until their cubes
// are computed; without the indexes beside them, a tenth to a fifth less
// (10M rows of the second generator: some 100 MB of 600). Add and
// AddBatch are errors after it.
func (b *Builder) Seal() {
	for _, o := range b.orgs {
		if !o.released {
			o.nsubs = len(o.subs.list)
			o.flatten()
		}
		o.subs, o.ccIDs = subIndex{}, nil
	}
	b.last, b.batch, b.sealed = nil, batchState{}, true
}

// orgAcc holds one organisation's finest per-subscriber sums.
type orgAcc struct {
	org   ur.Org
	subs  subIndex
	ccIDs map[string]uint32
	ccs   []string
	// bySub lists each subscriber's finest entries, key and sums: a
	// handful (cost centre x service x zone), faster to scan than to
	// hash, and finding one and adding to it reads one short slice.
	bySub [][]subFine
	nfine int // the finest entries in bySub
	// flat holds the finest entries once no more are added (see
	// flatten), subscriber s's at flat[off[s]:off[s+1]], and bySub is
	// nil.
	flat []subFine
	off  []int
	// bound is at least the sum of the absolute values of every record
	// added, column by column: no sum of any of them reaches it, so
	// while it is within the columns' limits no sum can overflow and
	// adding needs no check (see bound.fits).
	bound bound
	// released: the cube was computed and the sums above dropped; nsubs
	// keeps the subscriber count, as it does after Seal.
	released bool
	nsubs    int
	// err is why the organisation's sums cannot be trusted (a sum that
	// overflows): its cube is refused with it, and the other
	// organisations go on.
	err error
}

// release drops the organisation's sums once its cube is computed, so
// that a month's report holds less and less of them as it goes.
func (o *orgAcc) release() {
	if o.subs.list != nil { // not sealed: Seal kept the count
		o.nsubs = len(o.subs.list)
	}
	o.released = true
	o.subs, o.ccIDs, o.ccs, o.bySub, o.nfine = subIndex{}, nil, nil, nil, 0
	o.flat, o.off = nil, nil
}

// flatten moves the finest entries from bySub into flat, once: a few
// arrays with no pointers in them instead of a slice per subscriber,
// which the garbage collector need not scan, nor visit one by one.
func (o *orgAcc) flatten() {
	if o.bySub == nil {
		return
	}
	o.flat = make([]subFine, 0, o.nfine)
	o.off = make([]int, 0, len(o.bySub)+1)
	for _, refs := range o.bySub {
		o.off = append(o.off, len(o.flat))
		o.flat = append(o.flat, refs...)
	}
	o.off = append(o.off, len(o.flat))
	o.bySub = nil
}

// subFine is one of a subscriber's finest entries: its key but the
// subscriber, and its sums.
type subFine struct {
	cc   uint32
	svc  ur.Service
	zone ur.Zone
	sums
}

// subIndex numbers an organisation's pseudonyms. It finds them by their
// first 8 bytes, an integer key that hashes fast, and checks the whole
// pseudonym; pseudonyms that share a prefix with another go to clash.
type subIndex struct {
	byPrefix map[uint64]uint32
	list     []ur.Pseudonym
	clash    map[ur.Pseudonym]uint32
}

// id returns p's number, numbering it if it is new.
func (x *subIndex) id(p ur.Pseudonym) uint32 {
	prefix := binary.LittleEndian.Uint64(p[:8])
	i, ok := x.byPrefix[prefix]
	if ok && x.list[i] == p {
		return i
	}
	if ok {
		if i, ok := x.clash[p]; ok {
			return i
		}
	}
	i = uint32(len(x.list))
	x.list = append(x.list, p)
	if ok {
		x.clash[p] = i
	} else {
		x.byPrefix[prefix] = i
	}
	return i
}

type fineKey struct {
	sub  uint32
	cc   uint32
	svc  ur.Service
	zone ur.Zone
}

type sums struct {
	events, duration, volume, charge int64
}

// addUnchecked adds o to s with no overflow check, for sums whose bound
// fits.
func (s *sums) addUnchecked(o sums) {
	s.events += o.events
	s.duration += o.duration
	s.volume += o.volume
	s.charge += o.charge
}

// bound is an upper bound of the sums of the absolute values of records,
// column by column, saturating at math.MaxUint64.
type bound struct {
	events, duration, volume, charge uint64
}

// fits reports whether no sum of records within the bound can overflow
// its column: int64 for events, duration and volume, DECIMAL(18,4) for
// the charge. Then the checked sums.add would fail on none of them, and
// adding without a check gives the same sums.
func (b bound) fits() bool {
	return b.events <= math.MaxInt64 && b.duration <= math.MaxInt64 &&
		b.volume <= math.MaxInt64 && b.charge <= maxCharge
}

// maxCharge is the largest charge of DECIMAL(18,4), in ten-thousandths.
const maxCharge = 999_999_999_999_999_999

// plus returns b with n records of at most m added to it.
func (b bound) plus(n uint64, m bound) bound {
	return bound{
		events:   satAdd(b.events, satMul(n, m.events)),
		duration: satAdd(b.duration, satMul(n, m.duration)),
		volume:   satAdd(b.volume, satMul(n, m.volume)),
		charge:   satAdd(b.charge, satMul(n, m.charge)),
	}
}

// boundOf is the bound of one record of sums s.
func boundOf(s sums) bound {
	return bound{absU(s.events), absU(s.duration), absU(s.volume), absU(s.charge)}
}

func absU(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1 // math.MinInt64 too
	}
	return uint64(v)
}

func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return math.MaxUint64
	}
	return s
}

func satMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

func (s *sums) add(o sums) error {
	var ok bool
	if s.events, ok = ur.AddInt64(s.events, o.events); !ok {
		return fmt.Errorf("events: %w", ErrOverflow)
	}
	if s.duration, ok = ur.AddInt64(s.duration, o.duration); !ok {
		return fmt.Errorf("duration_s: %w", ErrOverflow)
	}
	if s.volume, ok = ur.AddInt64(s.volume, o.volume); !ok {
		return fmt.Errorf("volume_bytes: %w", ErrOverflow)
	}
	c, err := ur.Amount(s.charge).Add(ur.Amount(o.charge))
	if err != nil {
		return fmt.Errorf("charge: %w", err)
	}
	s.charge = int64(c)
	return nil
}

// NewBuilder returns a Builder for month m.
func NewBuilder(m ur.Month) *Builder {
	return &Builder{month: m, orgs: make(map[ur.Org]*orgAcc)}
}

// Add adds one record. Records of another month are an error: a store that
// returns them is broken.
func (b *Builder) Add(r *ur.Record) error {
	if b.sealed {
		return fmt.Errorf("aggregate %s: %w", b.month, ErrSealed)
	}
	if r.Month != b.month {
		return fmt.Errorf("aggregate %s: record of month %s", b.month, r.Month)
	}
	o := b.last
	if o == nil || o.org != r.Org {
		o = b.orgAcc(r.Org)
		b.last = o
	}
	sub, err := o.subID(r.Subscriber)
	if err != nil {
		return err
	}
	k := fineKey{sub: sub, cc: o.ccID(r.CostCentre), svc: r.Service, zone: r.Zone}
	s := sums{events: 1, duration: r.DurationS, volume: r.VolumeBytes, charge: int64(r.Charge)}
	o.bound = o.bound.plus(1, boundOf(s))
	o.addFine(k, s)
	return nil
}

// orgAcc returns org's accumulator, making it on first use.
func (b *Builder) orgAcc(org ur.Org) *orgAcc {
	o := b.orgs[org]
	if o == nil {
		o = &orgAcc{
			org:   org,
			subs:  subIndex{byPrefix: make(map[uint64]uint32), clash: make(map[ur.Pseudonym]uint32)},
			ccIDs: make(map[string]uint32),
		}
		b.orgs[org] = o
	}
	return o
}

// subID returns the organisation's id of a subscriber.
func (o *orgAcc) subID(p ur.Pseudonym) (uint32, error) {
	if len(o.subs.list) == math.MaxUint32 {
		return 0, fmt.Errorf("aggregate %s: too many subscribers", o.org)
	}
	sub := o.subs.id(p)
	if int(sub) == len(o.bySub) {
		o.bySub = append(o.bySub, nil)
	}
	return sub, nil
}

// ccID returns the organisation's id of a cost centre.
func (o *orgAcc) ccID(name string) uint32 {
	cc, ok := o.ccIDs[name]
	if !ok {
		cc = uint32(len(o.ccs))
		o.ccIDs[name] = cc
		o.ccs = append(o.ccs, name)
	}
	return cc
}

// addFine adds s to the finest entry k. A sum that overflows spoils the
// organisation, not the month: it is kept in o.err for its cube, and the
// records that follow are skipped.
func (o *orgAcc) addFine(k fineKey, s sums) {
	if o.err != nil {
		return
	}
	o.err = o.fine(k).sums.add(s)
}

// addFineUnchecked is addFine for an organisation whose bound, with s,
// fits: no sum can overflow.
func (o *orgAcc) addFineUnchecked(k fineKey, s sums) {
	if o.err != nil {
		return
	}
	o.fine(k).sums.addUnchecked(s)
}

// fine returns the finest entry k, made with its sums zero if new.
func (o *orgAcc) fine(k fineKey) *subFine {
	refs := o.bySub[k.sub]
	for j := range refs {
		if r := &refs[j]; r.cc == k.cc && r.svc == k.svc && r.zone == k.zone {
			return r
		}
	}
	return o.newFine(k)
}

// newFine appends the finest entry k, its sums zero, and returns it.
func (o *orgAcc) newFine(k fineKey) *subFine {
	refs := o.bySub[k.sub]
	if refs == nil {
		refs = make([]subFine, 0, 4) // a subscriber has a handful
	}
	refs = append(refs, subFine{cc: k.cc, svc: k.svc, zone: k.zone})
	o.bySub[k.sub] = refs
	o.nfine++
	return &refs[len(refs)-1]
}

// Orgs lists the organisations seen, in order.
func (b *Builder) Orgs() []ur.Org {
	orgs := make([]ur.Org, 0, len(b.orgs))
	for o := range b.orgs {
		orgs = append(orgs, o)
	}
	slices.Sort(orgs)
	return orgs
}

// Subscribers returns the number of distinct subscribers of org in the month.
func (b *Builder) Subscribers(org ur.Org) int {
	if o := b.orgs[org]; o != nil {
		if o.released || b.sealed {
			return o.nsubs
		}
		return len(o.subs.list)
	}
	return 0
}
