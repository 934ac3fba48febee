package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"

	ur "usagereport"
)

// Pseudonymizer turns subscriber numbers into keyed pseudonyms. It caches
// each number's pseudonym for the length of a run, keyed by the number's
// bytes; the cache lives in memory only and is dropped with the value.
type Pseudonymizer struct {
	key []byte
	mac hash.Hash
	// cache maps a number, read as an integer (E.164 numbers have no
	// leading zero, so the integer is unique), to its pseudonym's index.
	cache map[uint64]int32
	list  []ur.Pseudonym
	sum   []byte
}

// MinKeyLen is the shortest pseudonym key accepted.
const MinKeyLen = 32

// NewPseudonymizer returns a Pseudonymizer with key.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("pseudonym key shorter than 32 bytes")
	}
	return &Pseudonymizer{key: key, mac: hmac.New(sha256.New, key), cache: make(map[uint64]int32)}, nil
}

// clone returns a Pseudonymizer with the same key and its own cache, for
// another goroutine.
func (p *Pseudonymizer) clone() *Pseudonymizer {
	return &Pseudonymizer{key: p.key, mac: hmac.New(sha256.New, p.key), cache: make(map[uint64]int32)}
}

// Pseudonym returns the pseudonym of an E.164 number, which the caller has
// checked with validE164.
func (p *Pseudonymizer) Pseudonym(number []byte) ur.Pseudonym {
	var k uint64
	for _, c := range number[1:] {
		k = k*10 + uint64(c-'0')
	}
	if i, ok := p.cache[k]; ok {
		return p.list[i]
	}
	p.mac.Reset()
	p.mac.Write(number)
	p.sum = p.mac.Sum(p.sum[:0])
	var ps ur.Pseudonym
	copy(ps[:], p.sum)
	p.cache[k] = int32(len(p.list))
	p.list = append(p.list, ps)
	return ps
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
	if len(b) < 9 || len(b) > 16 || b[0] != '+' || b[1] == '0' {
		return false
	}
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
