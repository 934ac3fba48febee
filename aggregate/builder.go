package aggregate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
	refs  sourceRefs
}

// orgAcc holds one organisation's finest per-subscriber sums.
type orgAcc struct {
	org   ur.Org
	subs  subIndex
	ccIDs map[string]uint32
	ccs   []string
	// bySub lists each subscriber's finest entries: a handful (cost
	// centre x service x zone), faster to scan than to hash.
	bySub [][]int32
	fine  []fine
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

type fine struct {
	fineKey
	sums
}

type sums struct {
	events, duration, volume, charge int64
}

func (s *sums) add(o sums) error {
	var ok bool
	if s.events, ok = addInt(s.events, o.events); !ok {
		return fmt.Errorf("events: %w", ErrOverflow)
	}
	if s.duration, ok = addInt(s.duration, o.duration); !ok {
		return fmt.Errorf("duration_s: %w", ErrOverflow)
	}
	if s.volume, ok = addInt(s.volume, o.volume); !ok {
		return fmt.Errorf("volume_bytes: %w", ErrOverflow)
	}
	c, err := ur.Amount(s.charge).Add(ur.Amount(o.charge))
	if err != nil {
		return fmt.Errorf("charge: %w", err)
	}
	s.charge = int64(c)
	return nil
}

func addInt(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// NewBuilder returns a Builder for month m.
func NewBuilder(m ur.Month) *Builder {
	return &Builder{month: m, orgs: make(map[ur.Org]*orgAcc)}
}

// Add adds one record. Records of another month are an error: a store that
// returns them is broken.
func (b *Builder) Add(r *ur.Record) error {
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
	if err := o.addFine(k, sums{events: 1, duration: r.DurationS, volume: r.VolumeBytes, charge: int64(r.Charge)}); err != nil {
		return fmt.Errorf("aggregate %s %s: %w", r.Org, b.month, err)
	}
	return nil
}

// sourceRefs caches what the dictionary entries of one batch source
// resolved to, so that a row costs slice lookups, not hashing.
type sourceRefs struct {
	source int
	org    []*orgAcc
	sub    []ref
	cc     []ref
}

// ref is an organisation's id for a dictionary entry.
type ref struct {
	o  *orgAcc
	id uint32
}

// AddBatch adds a batch of records (ur.BatchScanner's fast path). It gives
// the same result as adding each record with Add.
func (b *Builder) AddBatch(bt *ur.Batch) error {
	if bt.Month != b.month {
		return fmt.Errorf("aggregate %s: records of month %s", b.month, bt.Month)
	}
	t := &b.refs
	if t.org == nil || t.source != bt.Source || len(bt.Subscribers) < len(t.sub) ||
		len(bt.Orgs) < len(t.org) || len(bt.CostCentres) < len(t.cc) {
		*t = sourceRefs{source: bt.Source, org: []*orgAcc{}}
	}
	for len(t.org) < len(bt.Orgs) {
		t.org = append(t.org, nil)
	}
	for len(t.sub) < len(bt.Subscribers) {
		t.sub = append(t.sub, ref{})
	}
	for len(t.cc) < len(bt.CostCentres) {
		t.cc = append(t.cc, ref{})
	}
	for i := range bt.Len() {
		o := t.org[bt.Org[i]]
		if o == nil {
			o = b.orgAcc(bt.Orgs[bt.Org[i]])
			t.org[bt.Org[i]] = o
		}
		var sub, cc uint32
		if r := &t.sub[bt.Subscriber[i]]; r.o == o {
			sub = r.id
		} else {
			id, err := o.subID(bt.Subscribers[bt.Subscriber[i]])
			if err != nil {
				return err
			}
			if r.o == nil { // the usual case: a subscriber of one organisation
				*r = ref{o, id}
			}
			sub = id
		}
		if r := &t.cc[bt.CostCentre[i]]; r.o == o {
			cc = r.id
		} else {
			cc = o.ccID(bt.CostCentres[bt.CostCentre[i]])
			if r.o == nil {
				*r = ref{o, cc}
			}
		}
		k := fineKey{sub: sub, cc: cc, svc: bt.Service[i], zone: bt.Zone[i]}
		if err := o.addFine(k, sums{events: 1, duration: bt.DurationS[i], volume: bt.VolumeBytes[i], charge: int64(bt.Charge[i])}); err != nil {
			return fmt.Errorf("aggregate %s %s: %w", o.org, b.month, err)
		}
	}
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

// addFine adds s to the finest entry k.
func (o *orgAcc) addFine(k fineKey, s sums) error {
	i := int32(-1)
	for _, j := range o.bySub[k.sub] {
		if o.fine[j].fineKey == k {
			i = j
			break
		}
	}
	if i < 0 {
		i = int32(len(o.fine))
		o.fine = append(o.fine, fine{fineKey: k})
		o.bySub[k.sub] = append(o.bySub[k.sub], i)
	}
	return o.fine[i].add(s)
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
		return len(o.subs.list)
	}
	return 0
}
