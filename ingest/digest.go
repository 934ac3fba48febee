package ingest

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	ur "usagereport"
)

// Digest identifies a file by what it holds rather than by its bytes: the
// multiset of its stored records. Each record is hashed to three 64-bit
// words, and the Digest sums them per word (mod 2^64) and counts the
// records, so the order of the rows, line ends, a byte-order mark, quoting,
// gzip or dropped columns change nothing, while any record more, less or
// different changes the sum. It hashes minimised records only (the
// subscriber by its keyed pseudonym, which is fixed per store), so it tells
// no more than the stored records do.
//
// The record hash is a fast keyed mix (64x64->128-bit multiplies, as in
// wyhash), not a cryptographic hash: the digest guards against a file sent
// twice, not against someone forging a collision, which could only get a
// file refused.
type Digest struct {
	sum [3]uint64
	n   uint64
}

// digestSeeds are arbitrary odd constants (digits of pi and e); changing
// them changes every stored digest.
var digestSeeds = [3][2]uint64{
	{0x243f6a8885a308d3, 0x13198a2e03707345},
	{0xa4093822299f31d1, 0x082efa98ec4e6c89},
	{0xb7e151628aed2a6b, 0xbf7158809cf4f3c7},
}

// mum is wyhash's mixing step: the two halves of a*b, folded.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// Add adds rec to the multiset.
func (d *Digest) Add(rec *ur.Record) {
	s0 := binary.LittleEndian.Uint64(rec.Subscriber[:8])
	s1 := binary.LittleEndian.Uint64(rec.Subscriber[8:])
	meta := uint64(rec.Org)<<32 | uint64(uint32(rec.Month))<<8 ^ uint64(rec.Service)<<4 ^ uint64(rec.Zone)
	cc := hashString(rec.CostCentre)
	for k := range d.sum {
		seed := digestSeeds[k]
		h := mum(s0^seed[0], s1^seed[1])
		h = mum(meta^h, cc^seed[0])
		h = mum(uint64(rec.DurationS)^h, uint64(rec.VolumeBytes)^seed[1])
		h = mum(uint64(rec.Charge)^h, seed[0]^uint64(k))
		d.sum[k] += h
	}
	d.n++
}

// hashString mixes s into one word; the cost centre, usually a few dozen
// bytes.
func hashString(s string) uint64 {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	h := uint64(len(s)) ^ 0x452821e638d01377
	for len(b) >= 16 {
		h = mum(binary.LittleEndian.Uint64(b)^h, binary.LittleEndian.Uint64(b[8:])^0xbe5466cf34e90c6c)
		b = b[16:]
	}
	var tail [16]byte
	copy(tail[:], b)
	return mum(binary.LittleEndian.Uint64(tail[:])^h, binary.LittleEndian.Uint64(tail[8:])^0xc0ac29b7c97c50dd)
}

// Merge adds the records of o.
func (d *Digest) Merge(o Digest) {
	for k := range d.sum {
		d.sum[k] += o.sum[k]
	}
	d.n += o.n
}

// Len returns the number of records added.
func (d Digest) Len() int64 { return int64(d.n) }

// Sum returns the digest as 32 bytes: the three sums and the count. It is
// all zero for no records: a file with no records is never taken for
// another.
func (d Digest) Sum() (out [32]byte) {
	if d.n == 0 {
		return out
	}
	for k, s := range d.sum {
		binary.BigEndian.PutUint64(out[8*k:], s)
	}
	binary.BigEndian.PutUint64(out[24:], d.n)
	return out
}
