package ingest

import (
	"bytes"
	"errors"
	"unicode/utf8"

	ur "usagereport"
)

// Fields holds the kept columns of one row, by the col* constants, as raw
// bytes of the input (nil where the file lacks the column). Every input
// format fills Fields and hands it to a Validator: the allowlist is this
// array, and nothing else of a row reaches a record.
type Fields [numCols][]byte

// Validator checks the kept fields of a row and makes the record: the one
// place where a subscriber number becomes a pseudonym and a time a month.
type Validator struct {
	pseudo *Pseudonymizer
	oslo   *Oslo
	ccs    *ccNames
	months *monthMemo
	times  *timeMemo
	orgs   *orgMemo
	ccm    *ccMemo
	// lastSub and lastCC are the run ids of the last record (runIDs).
	lastSub, lastCC uint32
}

// NewValidator returns a Validator. It is not safe for concurrent use.
func NewValidator(pseudo *Pseudonymizer, oslo *Oslo) *Validator {
	return &Validator{pseudo: pseudo, oslo: oslo, ccs: newCCNames(), months: new(monthMemo), times: new(timeMemo), orgs: new(orgMemo), ccm: new(ccMemo)}
}

// clone returns a Validator for another goroutine. The Pseudonymizer and
// the cost centre names are shared: each serves every worker.
func (v *Validator) clone() *Validator {
	return &Validator{pseudo: v.pseudo, oslo: v.oslo, ccs: v.ccs, months: new(monthMemo), times: new(timeMemo), orgs: new(orgMemo), ccm: new(ccMemo)}
}

// Record validates f and fills rec. It trims f's fields of white space
// in place (reslicing them; their bytes stay as they are). On a fault it returns the column (a
// col* constant) and the reason; checks run in column order so that a row
// with several faults is reported by its first.
func (v *Validator) Record(f *Fields, rec *ur.Record) (col int, err error) {
	num, cc, col, err := v.check(f, rec)
	if err == nil {
		rec.Subscriber, v.lastSub = v.pseudo.lookup(num)
		v.lastCC = cc
	}
	return col, err
}

// runIDs returns the run's ids of the subscriber and cost centre of the
// record Record made last (see Pseudonymizer and ccNames).
func (v *Validator) runIDs() (sub, cc uint32) { return v.lastSub, v.lastCC }

// check is Record but for the pseudonym: it returns the subscriber's
// number, as an integer, for the caller to look up (see
// Pseudonymizer.lookup), and leaves rec.Subscriber as it is. cc is the
// run's id of rec.CostCentre (see ccNames).
func (v *Validator) check(f *Fields, rec *ur.Record) (num uint64, cc uint32, col int, err error) {
	// f is trimmed in place (its slices, not their bytes), once: a copy
	// of the nine slices cost a row more than trimming them.
	t := f
	for c := range t {
		// trimSpace, inlined: most fields have nothing to trim, and many
		// are empty.
		b := t[c]
		if n := len(b); n > 0 && (b[0] <= ' ' || b[0] >= utf8.RuneSelf || b[n-1] <= ' ' || b[n-1] >= utf8.RuneSelf) {
			b = bytes.TrimSpace(b)
			t[c] = b
		}
		if len(b) == 0 && required[c] {
			return 0, 0, c, ErrMissing
		}
	}
	var ok bool
	if rec.Org, ok = v.orgs.parse(t[colOrg]); !ok {
		return 0, 0, colOrg, ErrOrgNumber
	}
	num, ok = e164Key(t[colSubscriber])
	if !ok {
		return 0, 0, colSubscriber, ErrSubscriber
	}
	// A cost centre already interned has passed these checks.
	// "(unassigned)" written out is the same as empty.
	ccb := t[colCostCentre]
	if string(ccb) == ur.Unassigned {
		ccb = ccb[:0]
	}
	ccName, cc, known := v.ccm.get(v.ccs, ccb)
	if !known {
		if !utf8.Valid(ccb) {
			return 0, 0, colCostCentre, ErrEncoding
		}
		if utf8.RuneCount(ccb) > MaxCostCentre {
			return 0, 0, colCostCentre, ErrCostCentre
		}
		if hasControl(ccb) {
			return 0, 0, colCostCentre, ErrControl
		}
	}
	if rec.Month, ok = v.times.month(v.oslo, v.months, t[colStartTime]); !ok {
		return 0, 0, colStartTime, ErrTime
	}
	if rec.Service, ok = ur.ParseService(t[colService]); !ok {
		return 0, 0, colService, ErrService
	}
	if rec.DurationS, ok = parseCount(t[colDuration]); !ok {
		return 0, 0, colDuration, ErrInteger
	}
	if rec.VolumeBytes, ok = parseCount(t[colVolume]); !ok {
		return 0, 0, colVolume, ErrInteger
	}
	if rec.Zone, ok = ur.ZoneOf(t[colCountry]); !ok {
		return 0, 0, colCountry, ErrCountry
	}
	if rec.Charge, err = ur.ParseAmount(t[colCharge]); err != nil {
		if errors.Is(err, ur.ErrAmountRange) {
			return 0, 0, colCharge, ErrAmountRange
		}
		return 0, 0, colCharge, ErrAmount
	}
	// The row is good: only now does anything leave the input's buffer.
	if !known {
		ccName, cc = v.ccs.add(ccb)
	}
	rec.CostCentre = ccName
	return num, cc, 0, nil
}

// trimSpace is bytes.TrimSpace, with a fast way out for the usual field
// that starts and ends with an ASCII byte that is not a space.
func trimSpace(b []byte) []byte {
	if n := len(b); n > 0 && b[0] > ' ' && b[0] < utf8.RuneSelf && b[n-1] > ' ' && b[n-1] < utf8.RuneSelf {
		return b
	}
	return bytes.TrimSpace(b)
}

// ColumnName returns the CSV v1 name of a col* constant.
func ColumnName(c int) string { return colNames[c] }

// parseCount reads an optional whole number >= 0; empty is 0.
func parseCount(b []byte) (int64, bool) {
	b = trimSpace(b)
	if len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasControl reports whether b holds an ASCII control character: a report
// cell cannot show one, and a workbook would change it.
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
