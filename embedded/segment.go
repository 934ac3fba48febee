package embedded

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	ur "usagereport"
)

// A segment holds the records of one file in one month, row by row, with
// each organisation, pseudonym and cost centre written in full once and
// referred to by index after that:
//
//	"URSEG1\n" then entries; an entry starts with a tag byte:
//	tagRecord: org ref, subscriber ref, cost centre ref, service<<4|zone,
//	           duration uvarint, volume uvarint, charge varint
//	tagEnd:    record count uvarint (a segment without it is damaged)
//
// A ref is a uvarint index; the index one past the last seen is followed by
// the new value (org uvarint, 16 pseudonym bytes, or uvarint length and
// UTF-8 bytes).
const segMagic = "URSEG1\n"

const (
	tagRecord = 1
	tagEnd    = 2
)

var errDamaged = errors.New("damaged segment")

type segWriter struct {
	w     *bufio.Writer
	orgs  map[ur.Org]uint64
	subs  subIndex
	ccs   map[string]uint64
	count uint64
	buf   []byte
}

func newSegWriter(w io.Writer) (*segWriter, error) {
	s := &segWriter{
		w:    bufio.NewWriterSize(w, 256<<10),
		orgs: make(map[ur.Org]uint64),
		subs: newSubIndex(),
		ccs:  make(map[string]uint64),
	}
	_, err := s.w.WriteString(segMagic)
	return s, err
}

func (s *segWriter) add(r *ur.Record) error {
	b := append(s.buf[:0], tagRecord)
	if i, ok := s.orgs[r.Org]; ok {
		b = binary.AppendUvarint(b, i)
	} else {
		i = uint64(len(s.orgs))
		s.orgs[r.Org] = i
		b = binary.AppendUvarint(b, i)
		b = binary.AppendUvarint(b, uint64(r.Org))
	}
	if i, ok := s.subs.get(r.Subscriber); ok {
		b = binary.AppendUvarint(b, i)
	} else {
		i = s.subs.add(r.Subscriber)
		b = binary.AppendUvarint(b, i)
		b = append(b, r.Subscriber[:]...)
	}
	if i, ok := s.ccs[r.CostCentre]; ok {
		b = binary.AppendUvarint(b, i)
	} else {
		i = uint64(len(s.ccs))
		s.ccs[r.CostCentre] = i
		b = binary.AppendUvarint(b, i)
		b = binary.AppendUvarint(b, uint64(len(r.CostCentre)))
		b = append(b, r.CostCentre...)
	}
	b = append(b, byte(r.Service)<<4|byte(r.Zone))
	b = binary.AppendUvarint(b, uint64(r.DurationS))
	b = binary.AppendUvarint(b, uint64(r.VolumeBytes))
	b = binary.AppendVarint(b, int64(r.Charge))
	s.buf = b
	s.count++
	_, err := s.w.Write(b)
	return err
}

// subIndex numbers pseudonyms. It looks them up by their first 8 bytes, an
// integer key that hashes fast, and checks the whole pseudonym; the rare
// pseudonyms that share a prefix with another go to a second map.
type subIndex struct {
	byPrefix map[uint64]uint64
	list     []ur.Pseudonym
	clash    map[ur.Pseudonym]uint64
}

func newSubIndex() subIndex {
	return subIndex{byPrefix: make(map[uint64]uint64), clash: make(map[ur.Pseudonym]uint64)}
}

func (x *subIndex) get(p ur.Pseudonym) (uint64, bool) {
	i, ok := x.byPrefix[binary.LittleEndian.Uint64(p[:8])]
	if ok && x.list[i] == p {
		return i, true
	}
	if ok {
		i, ok = x.clash[p]
	}
	return i, ok
}

// add numbers p, which get did not find.
func (x *subIndex) add(p ur.Pseudonym) uint64 {
	i := uint64(len(x.list))
	x.list = append(x.list, p)
	prefix := binary.LittleEndian.Uint64(p[:8])
	if _, taken := x.byPrefix[prefix]; taken {
		x.clash[p] = i
	} else {
		x.byPrefix[prefix] = i
	}
	return i
}

func (s *segWriter) finish() error {
	b := append(s.buf[:0], tagEnd)
	b = binary.AppendUvarint(b, s.count)
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.w.Flush()
}

// readSegment calls fn for each record of a segment of month m.
func readSegment(r io.Reader, m ur.Month, fn func(*ur.Record) error) (int64, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic := make([]byte, len(segMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != segMagic {
		return 0, errDamaged
	}
	var (
		orgs []ur.Org
		subs []ur.Pseudonym
		ccs  []string
		rec  = ur.Record{Month: m}
		n    uint64
	)
	for {
		tag, err := br.ReadByte()
		if err != nil {
			return int64(n), errDamaged
		}
		switch tag {
		case tagEnd:
			count, err := binary.ReadUvarint(br)
			if err != nil || count != n {
				return int64(n), errDamaged
			}
			return int64(n), nil
		case tagRecord:
		default:
			return int64(n), errDamaged
		}
		i, err := binary.ReadUvarint(br)
		if err != nil || i > uint64(len(orgs)) {
			return int64(n), errDamaged
		}
		if i == uint64(len(orgs)) {
			v, err := binary.ReadUvarint(br)
			if err != nil {
				return int64(n), errDamaged
			}
			orgs = append(orgs, ur.Org(v))
		}
		rec.Org = orgs[i]
		if i, err = binary.ReadUvarint(br); err != nil || i > uint64(len(subs)) {
			return int64(n), errDamaged
		}
		if i == uint64(len(subs)) {
			var p ur.Pseudonym
			if _, err := io.ReadFull(br, p[:]); err != nil {
				return int64(n), errDamaged
			}
			subs = append(subs, p)
		}
		rec.Subscriber = subs[i]
		if i, err = binary.ReadUvarint(br); err != nil || i > uint64(len(ccs)) {
			return int64(n), errDamaged
		}
		if i == uint64(len(ccs)) {
			l, err := binary.ReadUvarint(br)
			if err != nil || l > 4096 {
				return int64(n), errDamaged
			}
			b := make([]byte, l)
			if _, err := io.ReadFull(br, b); err != nil {
				return int64(n), errDamaged
			}
			ccs = append(ccs, string(b))
		}
		rec.CostCentre = ccs[i]
		sz, err := br.ReadByte()
		if err != nil {
			return int64(n), errDamaged
		}
		rec.Service, rec.Zone = ur.Service(sz>>4), ur.Zone(sz&15)
		if rec.Service >= ur.NumServices || rec.Zone >= ur.NumZones {
			return int64(n), errDamaged
		}
		d, err1 := binary.ReadUvarint(br)
		v, err2 := binary.ReadUvarint(br)
		c, err3 := binary.ReadVarint(br)
		if err1 != nil || err2 != nil || err3 != nil {
			return int64(n), errDamaged
		}
		rec.DurationS, rec.VolumeBytes, rec.Charge = int64(d), int64(v), ur.Amount(c)
		n++
		if fn != nil {
			if err := fn(&rec); err != nil {
				return int64(n), err
			}
		}
	}
}

func damaged(path string, err error) error {
	if errors.Is(err, errDamaged) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return err
}
