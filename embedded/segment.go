package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

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
	// out gets buf whenever it holds segFlush bytes: a record is
	// appended to buf in place, and a write per record (even to a
	// bufio.Writer) cost more than encoding it.
	out  io.Writer
	buf  []byte
	orgs orgIndex
	// A subscriber or cost centre is found by the caller's run id of it
	// (see fileWriter.AddWithIDs) in bySub and byCC, by indexing a slice:
	// no hash of the pseudonym or name a row, and no copy of either, 4
	// bytes an entry. Only those that come without an id are kept whole,
	// in subs and ccs, to be found by value. An id stands for one value
	// and a value has at most one id (see ur.FileWriter), so the two never
	// hold the same value.
	bySub, byCC byRunID
	subs        subDict
	ccs         ccDict
	// nsubs and nccs count the entries of the segment's dictionaries.
	nsubs, nccs uint64
	// ccCache finds a cost centre without an id by where its string lives:
	// the ingest interns cost centre names, so a row's name is one of a few
	// strings, and comparing a pointer is cheaper than hashing the name.
	// A slot holds its string, so the memory cannot be reused for another.
	ccCache [256]ccSlot
	count   uint64
}

// segFlush is how many bytes segWriter gathers before it writes them.
const segFlush = 256 << 10

type ccSlot struct {
	name string
	i    uint64
	set  bool
}

func newSegWriter(w io.Writer) (*segWriter, error) {
	s := &segWriter{
		out: w,
		buf: make([]byte, 0, segFlush+4<<10),
		ccs: newCCDict(),
	}
	s.buf = append(s.buf, segMagic...)
	return s, nil
}

// newEntry numbers the next entry of a dictionary that holds *n entries
// and, when its value came with the caller's run id id (not 0), files it
// under id in ids (byID); otherwise the caller keeps the value whole. It
// reports false in ok when the dictionary is full (ids are 32 bits).
func newEntry(n *uint64, ids *byRunID, id uint32) (i uint64, byID, ok bool) {
	i = *n
	if i >= math.MaxUint32 {
		return 0, false, false
	}
	*n++
	if id != 0 {
		ids.set(id, uint32(i+1))
		return i, true, true
	}
	return i, false, true
}

// add writes r; sub and cc are the caller's run ids of its subscriber and
// cost centre, 0 if none.
func (s *segWriter) add(r *ur.Record, sub, cc uint32) error {
	b := append(s.buf, tagRecord)
	if i, ok := s.orgs.get(r.Org); ok {
		b = binary.AppendUvarint(b, i)
	} else {
		i = s.orgs.add(r.Org)
		b = binary.AppendUvarint(b, i)
		b = binary.AppendUvarint(b, uint64(r.Org))
	}
	// A subscriber or cost centre with an id is found by it (see
	// newEntry), written out here: a call copied the pseudonym a row. An
	// id is trusted to stand for its value alone, and a value to have no
	// other id: checking the pseudonym costs another cache miss a row.
	var si uint64
	var found bool
	if sub != 0 {
		j := s.bySub.get(sub)
		si, found = uint64(j)-1, j != 0
	} else {
		si, found = s.subs.get(r.Subscriber)
	}
	if i, ok := si, found; ok {
		b = binary.AppendUvarint(b, i)
	} else {
		i, byID, ok := newEntry(&s.nsubs, &s.bySub, sub)
		if !ok {
			return errDictFull
		}
		if !byID {
			s.subs.add(r.Subscriber, i)
		}
		b = binary.AppendUvarint(b, i)
		b = append(b, r.Subscriber[:]...)
	}
	if cc != 0 {
		j := s.byCC.get(cc)
		si, found = uint64(j)-1, j != 0
	} else {
		si, found = s.costCentre(r.CostCentre, 0)
	}
	if i, ok := si, found; ok {
		b = binary.AppendUvarint(b, i)
	} else {
		i, byID, ok := newEntry(&s.nccs, &s.byCC, cc)
		if !ok {
			return errDictFull
		}
		if !byID {
			s.ccs.add(r.CostCentre, i)
			s.ccCache[ccSlotOf(r.CostCentre)] = ccSlot{name: r.CostCentre, i: i, set: true}
		}
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
	if len(b) >= segFlush {
		return s.flush()
	}
	return nil
}

// flush writes what buf holds.
func (s *segWriter) flush() error {
	_, err := s.out.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}

// errDictFull refuses a segment with 2^32-1 distinct subscribers or cost
// centres, which its run ids could not index.
var errDictFull = errors.New("more than 2^32-2 distinct subscribers or cost centres in a month")

// costCentre looks up the segment's index of a cost centre's name, whose
// id in the caller's run is id (0: none; without one it tries ccCache
// before the dictionary). An id is trusted to stand for name alone, and
// name to have no other id.
func (s *segWriter) costCentre(name string, id uint32) (uint64, bool) {
	if id != 0 {
		j := s.byCC.get(id)
		return uint64(j) - 1, j != 0
	}
	slot := &s.ccCache[ccSlotOf(name)]
	if slot.set && unsafe.StringData(slot.name) == unsafe.StringData(name) && len(slot.name) == len(name) {
		return slot.i, true
	}
	i, ok := s.ccs.get(name)
	if ok {
		s.ccCache[ccSlotOf(name)] = ccSlot{name: name, i: i, set: true}
	}
	return i, ok
}

func ccSlotOf(name string) uintptr {
	return uintptr(unsafe.Pointer(unsafe.StringData(name))) >> 4 % 256
}

func (s *segWriter) finish() error {
	s.buf = binary.AppendUvarint(append(s.buf, tagEnd), s.count)
	return s.flush()
}

func damaged(path string, err error) error {
	if errors.Is(err, errDamaged) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return err
}
