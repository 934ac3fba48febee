package aggregate

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	ur "usagereport"
)

// batchState is what AddBatch keeps from one batch to the next of the same
// source, so as to allocate nothing per batch: each organisation
// dictionary entry's accumulator, the workers' caches, and the batch's rows
// sorted by organisation.
type batchState struct {
	started bool
	source  int
	subs    int // dictionary sizes of the last batch
	ccs     int
	org     []*orgAcc // by organisation index; nil until a row uses it
	workers []worker

	// Of the batch being added:
	present []uint32 // organisation indexes, most rows first
	start   []int    // by organisation index: where its rows begin in order
	rows    []int    // by organisation index: its rows
	order   []int    // row numbers, organisation by organisation, in batch order within each
	fast    []bool   // by organisation index: its bound fits with the batch's rows, no check needed
	errs    []rowErr // by position in present
}

// A worker adds the rows of one organisation of a batch after another. An
// organisation's rows go to one worker, in batch order, so workers run at
// the same time with no locks: each writes only the accumulators of the
// organisations it took and its own caches.
type worker struct {
	refs sourceRefs
	sink int64 // what touch read, so that it is read
}

// rowErr is the error of a row.
type rowErr struct {
	row int
	err error
}

// sourceRefs caches what the dictionary entries of one batch source
// resolved to, so that a row costs slice lookups, not hashing.
type sourceRefs struct {
	sub []ref
	cc  []ref
}

// ref is an organisation's id for a dictionary entry: org is the
// organisation's index in the source plus one, zero for none yet.
type ref struct {
	org, id uint32
}

// minWorkerRows is the fewest rows of a batch worth another goroutine.
const minWorkerRows = 256

// AddBatch adds a batch of records (ur.BatchScanner's fast path). It gives
// the same result as adding each record with Add, using every core:
// GOMAXPROCS workers take the organisations of the batch one at a time,
// the one with the most rows first, and each adds the rows of the
// organisations it took, in batch order. AddBatch returns when all are
// done. On an error it returns the error of the first row, in batch
// order, that failed, as Add would, and the Builder is of no further use.
func (b *Builder) AddBatch(bt *ur.Batch) error {
	if b.sealed {
		return fmt.Errorf("aggregate %s: %w", b.month, ErrSealed)
	}
	if bt.Month != b.month {
		return fmt.Errorf("aggregate %s: records of month %s", b.month, bt.Month)
	}
	st := &b.batch
	if !st.started || st.source != bt.Source || len(bt.Orgs) < len(st.org) ||
		len(bt.Subscribers) < st.subs || len(bt.CostCentres) < st.ccs {
		// A new source: its dictionaries start anew.
		st.started, st.source = true, bt.Source
		st.org = st.org[:0]
		for i := range st.workers {
			st.workers[i].refs = sourceRefs{sub: st.workers[i].refs.sub[:0], cc: st.workers[i].refs.cc[:0]}
		}
	}
	st.subs, st.ccs = len(bt.Subscribers), len(bt.CostCentres)
	st.org = grow(st.org, len(bt.Orgs))
	st.sortRows(b, bt)
	st.bound(bt)

	w := max(1, min(runtime.GOMAXPROCS(0), len(st.present), bt.Len()/minWorkerRows))
	for len(st.workers) < w {
		st.workers = append(st.workers, worker{})
	}
	st.errs = grow(st.errs[:0], len(st.present))
	var next atomic.Int32
	run := func(wk *worker) {
		for {
			k := int(next.Add(1)) - 1
			if k >= len(st.present) {
				return
			}
			oi := st.present[k]
			row, err := wk.add(b, bt, st.order[st.start[oi]:st.start[oi]+st.rows[oi]], st.fast[oi])
			if err != nil {
				st.errs[k] = rowErr{row, err}
			}
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Go(func() { run(&st.workers[i]) })
	}
	run(&st.workers[0])
	wg.Wait()
	var first *rowErr
	for k := range st.errs {
		if e := &st.errs[k]; e.err != nil && (first == nil || e.row < first.row) {
			first = e
		}
	}
	if first != nil {
		return first.err
	}
	return nil
}

// sortRows lists the organisations of bt, most rows first, and sorts the
// row numbers of bt by organisation into order, keeping batch order within
// each. It makes the accumulators of the organisations new to the source,
// so that b.orgs is written by one goroutine.
func (st *batchState) sortRows(b *Builder, bt *ur.Batch) {
	st.rows = grow(st.rows[:0], len(bt.Orgs))
	st.present = st.present[:0]
	for _, oi := range bt.Org {
		if st.rows[oi] == 0 {
			st.present = append(st.present, oi)
			if st.org[oi] == nil {
				st.org[oi] = b.orgAcc(bt.Orgs[oi])
			}
		}
		st.rows[oi]++
	}
	slices.SortFunc(st.present, func(a, b uint32) int {
		if c := cmp.Compare(st.rows[b], st.rows[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	st.start = grow(st.start[:0], len(bt.Orgs))
	at := 0
	for _, oi := range st.present {
		st.start[oi] = at
		at += st.rows[oi]
	}
	st.order = grow(st.order[:0], bt.Len())
	for i, oi := range bt.Org {
		st.order[st.start[oi]] = i
		st.start[oi]++
	}
	for _, oi := range st.present {
		st.start[oi] -= st.rows[oi]
	}
}

// bound adds to the bound of each organisation of bt its rows there times
// the largest absolute value of each column in bt, and notes in st.fast
// whether the bound still fits: then none of its sums can overflow, and
// its rows of the batch are added without checks, with the same sums and
// no error, as the checked addition would give. A bound that does not fit
// leaves the organisation to the checked addition, row by row, which
// finds the first row that overflows, if any.
func (st *batchState) bound(bt *ur.Batch) {
	var dur, vol, chg uint64
	for _, v := range bt.DurationS {
		dur = max(dur, absU(v))
	}
	for _, v := range bt.VolumeBytes {
		vol = max(vol, absU(v))
	}
	for _, v := range bt.Charge {
		chg = max(chg, absU(int64(v)))
	}
	most := bound{events: 1, duration: dur, volume: vol, charge: chg}
	st.fast = grow(st.fast[:0], len(st.org))
	for _, oi := range st.present {
		o := st.org[oi]
		o.bound = o.bound.plus(uint64(st.rows[oi]), most)
		st.fast[oi] = o.bound.fits()
	}
}

// grow returns s extended to length n with zero values.
func grow[T any](s []T, n int) []T {
	if l := len(s); l < n {
		s = slices.Grow(s, n-l)[:n]
		clear(s[l:])
	}
	return s
}

// add adds rows of bt, all of one organisation and at least one, in
// order. It stops at the first error and returns its row.
//
// A row's finest entry is the end of a chain of dependent reads scattered
// over the organisation's accumulator: most of them miss the caches. So
// add takes the rows a few at a time, first walks the chains of those
// rows a step at a time for all of them without writing anything (touch),
// so that the processor waits for the reads of many rows at once, and then
// adds the rows, finding what they read in the caches.
//
// fast says that the organisation's sums cannot overflow (batchState.bound).
func (wk *worker) add(b *Builder, bt *ur.Batch, rows []int, fast bool) (int, error) {
	t := &wk.refs
	t.sub = grow(t.sub, len(bt.Subscribers))
	t.cc = grow(t.cc, len(bt.CostCentres))
	oi := bt.Org[rows[0]]
	o := b.batch.org[oi]
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), touchRows)]
		rows = rows[len(chunk):]
		wk.touch(o, oi, bt, chunk)
		for _, i := range chunk {
			if err := wk.addRow(b, bt, i, fast); err != nil {
				return i, err
			}
		}
	}
	return 0, nil
}

// touchRows is the number of rows add touches at a time.
const touchRows = 32

// touch reads what adding rows, of organisation oi, will read, with no
// effect but on the caches: each step for every row before the next step.
func (wk *worker) touch(o *orgAcc, oi uint32, bt *ur.Batch, rows []int) {
	const none = math.MaxUint32
	t := &wk.refs
	var subs, ccs [touchRows]uint32
	for j, i := range rows {
		subs[j], ccs[j] = none, none
		if r := t.sub[bt.Subscriber[i]]; r.org == oi+1 {
			subs[j] = r.id
		}
		if r := t.cc[bt.CostCentre[i]]; r.org == oi+1 {
			ccs[j] = r.id
		}
	}
	var sink int64
	for j := range rows {
		if subs[j] != none {
			if l := o.bySub[subs[j]]; len(l) > 0 {
				sink += int64(l[0].cc) + l[len(l)-1].events
			}
		}
	}
	for j, i := range rows {
		if subs[j] == none {
			continue
		}
		for _, r := range o.bySub[subs[j]] {
			if r.cc == ccs[j] && r.svc == bt.Service[i] && r.zone == bt.Zone[i] {
				sink += r.events
				break
			}
		}
	}
	wk.sink = sink
}

// addRow adds row i of bt, with no overflow check if fast.
func (wk *worker) addRow(b *Builder, bt *ur.Batch, i int, fast bool) error {
	t := &wk.refs
	oi := bt.Org[i]
	o := b.batch.org[oi]
	var sub, cc uint32
	if r := &t.sub[bt.Subscriber[i]]; r.org == oi+1 {
		sub = r.id
	} else {
		id, err := o.subID(bt.Subscribers[bt.Subscriber[i]])
		if err != nil {
			return err
		}
		if r.org == 0 { // the usual case: a subscriber of one organisation
			*r = ref{oi + 1, id}
		}
		sub = id
	}
	if r := &t.cc[bt.CostCentre[i]]; r.org == oi+1 {
		cc = r.id
	} else {
		cc = o.ccID(bt.CostCentres[bt.CostCentre[i]])
		if r.org == 0 {
			*r = ref{oi + 1, cc}
		}
	}
	k := fineKey{sub: sub, cc: cc, svc: bt.Service[i], zone: bt.Zone[i]}
	s := sums{events: 1, duration: bt.DurationS[i], volume: bt.VolumeBytes[i], charge: int64(bt.Charge[i])}
	if fast {
		o.addFineUnchecked(k, s)
	} else {
		o.addFine(k, s)
	}
	return nil
}
