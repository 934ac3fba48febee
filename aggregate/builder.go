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
		if o = b.orgs[r.Org]; o == nil {
			o = &orgAcc{
				org:   r.Org,
				subs:  subIndex{byPrefix: make(map[uint64]uint32), clash: make(map[ur.Pseudonym]uint32)},
				ccIDs: make(map[string]uint32),
			}
			b.orgs[r.Org] = o
		}
		b.last = o
	}
	if len(o.subs.list) == math.MaxUint32 {
		return fmt.Errorf("aggregate %s: too many subscribers", r.Org)
	}
	sub := o.subs.id(r.Subscriber)
	if int(sub) == len(o.bySub) {
		o.bySub = append(o.bySub, nil)
	}
	cc, ok := o.ccIDs[r.CostCentre]
	if !ok {
		cc = uint32(len(o.ccs))
		o.ccIDs[r.CostCentre] = cc
		o.ccs = append(o.ccs, r.CostCentre)
	}
	k := fineKey{sub: sub, cc: cc, svc: r.Service, zone: r.Zone}
	i := int32(-1)
	for _, j := range o.bySub[sub] {
		if o.fine[j].fineKey == k {
			i = j
			break
		}
	}
	if i < 0 {
		i = int32(len(o.fine))
		o.fine = append(o.fine, fine{fineKey: k})
		o.bySub[sub] = append(o.bySub[sub], i)
	}
	err := o.fine[i].add(sums{events: 1, duration: r.DurationS, volume: r.VolumeBytes, charge: int64(r.Charge)})
	if err != nil {
		return fmt.Errorf("aggregate %s %s: %w", r.Org, b.month, err)
	}
	return nil
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
