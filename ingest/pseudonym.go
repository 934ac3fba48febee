package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"

	ur "usagereport"
)

// Pseudonymizer turns subscriber numbers into keyed pseudonyms. It is safe
// for concurrent use: File's parallel workers share one.
//
// It caches each number's pseudonym for the length of a run, and numbers
// the run's subscribers as it first sees them: the id lets a store's
// writer find a subscriber without hashing its pseudonym (see
// ur.FileWriter's AddBatch). Ids depend on which worker parses which rows
// first, and are never written anywhere. The cache lives in memory only and is dropped with the
// value.
type Pseudonymizer struct {
	cache pseudoCache
}

// MinKeyLen is the shortest pseudonym key accepted.
const MinKeyLen = 32

// NewPseudonymizer returns a Pseudonymizer with key.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("pseudonym key shorter than 32 bytes")
	}
	p := new(Pseudonymizer)
	p.cache.init(hmac.New(sha256.New, key))
	return p, nil
}

// Pseudonym returns the pseudonym of an E.164 number, which the caller has
// checked with validE164.
func (p *Pseudonymizer) Pseudonym(number []byte) ur.Pseudonym {
	ps, _ := p.lookup(numberKey(number))
	return ps
}

// numberKey reads an E.164 number that validE164 accepts as an integer:
// without a leading zero, the integer is unique, and "+" and its decimal
// digits give the number back.
func numberKey(number []byte) uint64 {
	var k uint64
	for _, c := range number[1:] {
		k = k*10 + uint64(c-'0')
	}
	return k
}

// lookup returns the pseudonym of the number numberKey made num and the
// run's id of it: 1 for the first number seen, 2 for the next, and so on
// (0 once the run has seen more than 2^32-1 numbers).
func (p *Pseudonymizer) lookup(num uint64) (ur.Pseudonym, uint32) {
	if e := p.cache.get(num); e != nil {
		return e.p, e.id
	}
	return p.cache.add(num)
}

// KeyFingerprint returns a short public fingerprint of key, so that a store
// can tell that a later run uses another key without keeping the key.
func KeyFingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("usagereport pseudonym key fingerprint v1"))
	const hexdigits = "0123456789abcdef"
	sum := m.Sum(nil)
	out := make([]byte, 16)
	for i := range 8 {
		out[2*i], out[2*i+1] = hexdigits[sum[i]>>4], hexdigits[sum[i]&15]
	}
	return string(out)
}

// validE164 reports whether b is '+' and 8 to 15 digits, the first not 0.
func validE164(b []byte) bool {
	_, ok := e164Key(b)
	return ok
}

// e164Key is numberKey for a number that validE164 accepts, and false for
// any other: both in one pass.
func e164Key(b []byte) (uint64, bool) {
	if len(b) < 9 || len(b) > 16 || b[0] != '+' || b[1] == '0' {
		return 0, false
	}
	var k uint64
	for _, c := range b[1:] {
		d := uint64(c - '0') // a byte below '0' wraps past 9
		if d > 9 {
			return 0, false
		}
		k = k*10 + d
	}
	return k, true
}
