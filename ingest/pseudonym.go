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
	mac   hash.Hash
	cache map[string]ur.Pseudonym
	sum   []byte
}

// MinKeyLen is the shortest pseudonym key accepted.
const MinKeyLen = 32

// NewPseudonymizer returns a Pseudonymizer with key.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("pseudonym key shorter than 32 bytes")
	}
	return &Pseudonymizer{mac: hmac.New(sha256.New, key), cache: make(map[string]ur.Pseudonym)}, nil
}

// Pseudonym returns the pseudonym of an E.164 number.
func (p *Pseudonymizer) Pseudonym(number []byte) ur.Pseudonym {
	if ps, ok := p.cache[string(number)]; ok {
		return ps
	}
	p.mac.Reset()
	p.mac.Write(number)
	p.sum = p.mac.Sum(p.sum[:0])
	var ps ur.Pseudonym
	copy(ps[:], p.sum)
	p.cache[string(number)] = ps
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
