package embedded

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"

	ur "usagereport"
)

// segReader decodes a segment entry by entry.
type segReader struct {
	br   *bufio.Reader
	orgs []ur.Org
	subs []ur.Pseudonym
	ccs  []string
	n    uint64
}

// segRow is one record as the segment holds it: dictionary references and
// values.
type segRow struct {
	org, sub, cc     uint32
	svc              ur.Service
	zone             ur.Zone
	duration, volume int64
	charge           ur.Amount
}

func newSegReader(r io.Reader) (*segReader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic := make([]byte, len(segMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != segMagic {
		return nil, errDamaged
	}
	return &segReader{br: br}, nil
}

// maxPlainRecord is the most bytes a record whose references are all to
// entries seen before can take: the tag, three references, the service
// and zone byte, and three 64-bit varints.
const maxPlainRecord = 1 + 3*binary.MaxVarintLen32 + 1 + 3*binary.MaxVarintLen64

// next decodes the next record into row. It returns io.EOF at the end
// marker, once the record count there matches, and errDamaged otherwise.
//
// Most records refer only to dictionary entries seen before; those are
// decoded straight from the reader's buffer (plain). Anything else (a new
// entry, the end marker, damage, the last bytes of the file) goes the
// byte-by-byte way (nextSlow), from the same place.
func (s *segReader) next(row *segRow) error {
	if b, _ := s.br.Peek(maxPlainRecord); len(b) > 0 {
		if n := s.plain(b, row); n > 0 {
			s.br.Discard(n)
			s.n++
			return nil
		}
	}
	return s.nextSlow(row)
}

// plain decodes a record at the start of b that refers only to entries
// seen before, and returns its length; 0 when b does not start with one
// whole such record.
func (s *segReader) plain(b []byte, row *segRow) int {
	if b[0] != tagRecord {
		return 0
	}
	n := 1
	var ref [3]uint64
	for k, limit := range [3]int{len(s.orgs), len(s.subs), len(s.ccs)} {
		v, m := binary.Uvarint(b[n:])
		if m <= 0 || v >= uint64(limit) {
			return 0
		}
		ref[k], n = v, n+m
	}
	if n >= len(b) {
		return 0
	}
	sz := b[n]
	n++
	svc, zone := ur.Service(sz>>4), ur.Zone(sz&15)
	if svc >= ur.NumServices || zone >= ur.NumZones {
		return 0
	}
	d, m1 := binary.Uvarint(b[n:])
	if m1 <= 0 || d > math.MaxInt64 {
		return 0
	}
	n += m1
	v, m2 := binary.Uvarint(b[n:])
	if m2 <= 0 || v > math.MaxInt64 {
		return 0
	}
	n += m2
	c, m3 := binary.Varint(b[n:])
	if m3 <= 0 {
		return 0
	}
	n += m3
	row.org, row.sub, row.cc = uint32(ref[0]), uint32(ref[1]), uint32(ref[2])
	row.svc, row.zone = svc, zone
	row.duration, row.volume, row.charge = int64(d), int64(v), ur.Amount(c)
	return n
}

// nextSlow is next, a byte at a time through the reader.
func (s *segReader) nextSlow(row *segRow) error {
	br := s.br
	tag, err := br.ReadByte()
	if err != nil {
		return errDamaged
	}
	switch tag {
	case tagEnd:
		count, err := binary.ReadUvarint(br)
		if err != nil || count != s.n {
			return errDamaged
		}
		return io.EOF
	case tagRecord:
	default:
		return errDamaged
	}
	i, err := binary.ReadUvarint(br)
	if err != nil || i > uint64(len(s.orgs)) {
		return errDamaged
	}
	if i == uint64(len(s.orgs)) {
		v, err := binary.ReadUvarint(br)
		if err != nil {
			return errDamaged
		}
		s.orgs = append(s.orgs, ur.Org(v))
	}
	row.org = uint32(i)
	if i, err = binary.ReadUvarint(br); err != nil || i > uint64(len(s.subs)) {
		return errDamaged
	}
	if i == uint64(len(s.subs)) {
		var p ur.Pseudonym
		if _, err := io.ReadFull(br, p[:]); err != nil {
			return errDamaged
		}
		s.subs = append(s.subs, p)
	}
	row.sub = uint32(i)
	if i, err = binary.ReadUvarint(br); err != nil || i > uint64(len(s.ccs)) {
		return errDamaged
	}
	if i == uint64(len(s.ccs)) {
		l, err := binary.ReadUvarint(br)
		if err != nil || l > 4096 {
			return errDamaged
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(br, b); err != nil {
			return errDamaged
		}
		s.ccs = append(s.ccs, string(b))
	}
	row.cc = uint32(i)
	sz, err := br.ReadByte()
	if err != nil {
		return errDamaged
	}
	row.svc, row.zone = ur.Service(sz>>4), ur.Zone(sz&15)
	if row.svc >= ur.NumServices || row.zone >= ur.NumZones {
		return errDamaged
	}
	d, err1 := binary.ReadUvarint(br)
	v, err2 := binary.ReadUvarint(br)
	c, err3 := binary.ReadVarint(br)
	if err1 != nil || err2 != nil || err3 != nil || d > math.MaxInt64 || v > math.MaxInt64 {
		return errDamaged
	}
	row.duration, row.volume, row.charge = int64(d), int64(v), ur.Amount(c)
	s.n++
	return nil
}

// readSegment calls fn (when not nil) for each record of a segment of month
// m and returns the number of records.
func readSegment(r io.Reader, m ur.Month, fn func(*ur.Record) error) (int64, error) {
	s, err := newSegReader(r)
	if err != nil {
		return 0, err
	}
	var row segRow
	rec := ur.Record{Month: m}
	for {
		if err := s.next(&row); err == io.EOF {
			return int64(s.n), nil
		} else if err != nil {
			return int64(s.n), err
		}
		if fn == nil {
			continue
		}
		rec.Org, rec.Subscriber, rec.CostCentre = s.orgs[row.org], s.subs[row.sub], s.ccs[row.cc]
		rec.Service, rec.Zone = row.svc, row.zone
		rec.DurationS, rec.VolumeBytes, rec.Charge = row.duration, row.volume, row.charge
		if err := fn(&rec); err != nil {
			return int64(s.n), err
		}
	}
}

// batchRows is the number of rows a Batch holds at most.
const batchRows = 1 << 14

// readSegmentBatches calls fn with the records of a segment in batches
// that share the segment's dictionaries. A goroutine decodes the next
// batch while fn works on the current one: the two take turns with the
// batches of bufs, whose Month and Source the caller has set.
func readSegmentBatches(r io.Reader, bufs *[2]ur.Batch, fn func(*ur.Batch) error) error {
	s, err := newSegReader(r)
	if err != nil {
		return err
	}
	// There are two batches: neither send blocks.
	free, full := make(chan *ur.Batch, 2), make(chan *ur.Batch, 2)
	free <- &bufs[0]
	free <- &bufs[1]
	done := make(chan struct{})
	var decodeErr error // set before full is closed
	go func() {
		defer close(full)
		for {
			var b *ur.Batch
			select {
			case b = <-free:
			case <-done:
				return
			}
			err := s.fill(b)
			if err != nil && err != io.EOF {
				decodeErr = err
				return
			}
			if b.Len() > 0 {
				full <- b
			}
			if err == io.EOF {
				return
			}
		}
	}()
	defer func() {
		// Stop the decoder and wait for it: the caller closes r.
		close(done)
		for range full {
		}
	}()
	for b := range full {
		if err := fn(b); err != nil {
			return err
		}
		free <- b
	}
	return decodeErr
}

// fill decodes up to batchRows records into b, which it empties first, and
// points b at the dictionaries. It returns io.EOF after the last record.
func (s *segReader) fill(b *ur.Batch) error {
	b.Org, b.Subscriber, b.CostCentre = b.Org[:0], b.Subscriber[:0], b.CostCentre[:0]
	b.Service, b.Zone = b.Service[:0], b.Zone[:0]
	b.DurationS, b.VolumeBytes, b.Charge = b.DurationS[:0], b.VolumeBytes[:0], b.Charge[:0]
	var row segRow
	var err error
	for b.Len() < batchRows {
		if err = s.next(&row); err != nil {
			break
		}
		b.Org = append(b.Org, row.org)
		b.Subscriber = append(b.Subscriber, row.sub)
		b.CostCentre = append(b.CostCentre, row.cc)
		b.Service = append(b.Service, row.svc)
		b.Zone = append(b.Zone, row.zone)
		b.DurationS = append(b.DurationS, row.duration)
		b.VolumeBytes = append(b.VolumeBytes, row.volume)
		b.Charge = append(b.Charge, row.charge)
	}
	// The dictionaries only grow: appending to them later leaves what b
	// sees as it is.
	b.Orgs, b.Subscribers, b.CostCentres = s.orgs, s.subs, s.ccs
	return err
}
