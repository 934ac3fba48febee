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
// The record hash is a fast mix (64x64->128-bit multiplies folded, as in
// wyhash; four of them per record, mostly independent of one another),
// not a cryptographic hash: the digest guards against a file sent twice,
// not against someone forging a collision, which could only get a file
// refused.
type Digest struct {
	sum [3]uint64
	n   uint64
}

// digestSeeds are arbitrary constants (digits of pi); changing them
// changes every stored digest.
var digestSeeds = [8]uint64{
	0x243f6a8885a308d3, 0x13198a2e03707344, 0xa4093822299f31d0, 0x082efa98ec4e6c89,
	0x452821e638d01377, 0xbe5466cf34e90c6c, 0xc0ac29b7c97c50dd, 0x3f84d5b5b5470917,
}

// mum is wyhash's mixing step: the two halves of a*b, folded.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// Add adds rec to the multiset.
func (d *Digest) Add(rec *ur.Record) {
	k := &digestSeeds
	s0 := binary.LittleEndian.Uint64(rec.Subscriber[:8])
	s1 := binary.LittleEndian.Uint64(rec.Subscriber[8:])
	meta := uint64(rec.Org)<<32 | uint64(uint32(rec.Month))<<8 ^ uint64(rec.Service)<<4 ^ uint64(rec.Zone)
	h1 := mum(s0^k[0], s1^k[1])
	h2 := mum(meta^k[2], hashString(rec.CostCentre)^k[3])
	h3 := mum(uint64(rec.DurationS)^k[4], uint64(rec.VolumeBytes)^k[5])
	h4 := uint64(rec.Charge) ^ k[6]
	d.sum[0] += mum(h1^h3, h2^h4)
	d.sum[1] += mum(h1^h2^k[7], h3^h4^k[0])
	d.sum[2] += h1 ^ bits.RotateLeft64(h2, 21) ^ bits.RotateLeft64(h3, 42) ^ h4
	d.n++
}

// hashString mixes s into one word: the cost centre, usually a few dozen
// bytes. It reads s as wyhash does, in overlapping words, without a copy.
func hashString(s string) uint64 {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	n := len(b)
	h := uint64(n) ^ 0x9216d5d98979fb1b
	var x, y uint64
	switch {
	case n > 16:
		for len(b) > 16 {
			h = mum(binary.LittleEndian.Uint64(b)^0xd1310ba698dfb5ac, binary.LittleEndian.Uint64(b[8:])^h)
			b = b[16:]
		}
		tail := unsafe.Slice(unsafe.StringData(s), n)[n-16:]
		x, y = binary.LittleEndian.Uint64(tail), binary.LittleEndian.Uint64(tail[8:])
	case n >= 8:
		x, y = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		x, y = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		x = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	}
	return mum(x^0x2ffd72dbd01adfb7^h, y^0xb8e1afed6a267e96)
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
