package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	ur "usagereport"
)

// segmentBytes writes n records of a few organisations, subscribers and
// cost centres, credits and large values among them.
func segmentBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	var out bytes.Buffer
	w, err := newSegWriter(&out)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		r := rec(ur.Org(900_000_000+i%7), oct, byte(i%23), ur.Amount(int64(i*7919)-1_000_000))
		r.CostCentre = fmt.Sprintf("cc %d", i%11)
		r.Service, r.Zone = ur.Service(i%int(ur.NumServices)), ur.Zone(i/3%int(ur.NumZones))
		r.DurationS, r.VolumeBytes = int64(i)*1e9, int64(i%5)<<40
		if err := w.add(&r, 0, 0); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// readRows reads every row of seg, with next or with nextSlow alone,
// and the error that ended it (io.EOF for a whole segment).
func readRows(seg []byte, slow bool) ([]segRow, error) {
	s, err := newSegReader(bytes.NewReader(seg))
	if err != nil {
		return nil, err
	}
	var rows []segRow
	for {
		var row segRow
		if slow {
			err = s.nextSlow(&row)
		} else {
			err = s.next(&row)
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

func TestSegReaderPlainAsSlow(t *testing.T) {
	seg := segmentBytes(t, 20_000)
	fast, err := readRows(seg, false)
	if err != io.EOF || len(fast) != 20_000 {
		t.Fatalf("read %d rows, %v; want 20000 and EOF", len(fast), err)
	}
	slow, _ := readRows(seg, true)
	for i := range fast {
		if fast[i] != slow[i] {
			t.Fatalf("row %d: %+v, byte by byte %+v", i, fast[i], slow[i])
		}
	}
	// Cut anywhere, a segment reads the same rows and then is damaged.
	for _, cut := range []int{len(segMagic) + 1, len(seg) / 2, len(seg) - 1, len(seg) - maxPlainRecord} {
		rows, err := readRows(seg[:cut], false)
		if !errors.Is(err, errDamaged) || len(rows) > len(fast) {
			t.Errorf("cut at %d: %d rows, %v; want errDamaged", cut, len(rows), err)
		}
	}
}

// FuzzSegReader: on any bytes, next (plain records from the buffer) reads
// the same rows and ends with the same error as nextSlow.
func FuzzSegReader(f *testing.F) {
	seg := segmentBytes(f, 300)
	f.Add(seg)
	f.Add(seg[:len(seg)/2])
	f.Add(append([]byte(segMagic), tagRecord, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02))
	f.Fuzz(func(t *testing.T, seg []byte) {
		fast, errFast := readRows(seg, false)
		slow, errSlow := readRows(seg, true)
		if errFast != errSlow || len(fast) != len(slow) {
			t.Fatalf("next: %d rows, %v; nextSlow: %d rows, %v", len(fast), errFast, len(slow), errSlow)
		}
		for i := range fast {
			if fast[i] != slow[i] {
				t.Fatalf("row %d: %+v, byte by byte %+v", i, fast[i], slow[i])
			}
		}
	})
}

func BenchmarkSegReader(b *testing.B) {
	seg := segmentBytes(b, 1<<16)
	b.SetBytes(int64(len(seg)))
	for b.Loop() {
		if rows, err := readRows(seg, false); err != io.EOF || len(rows) != 1<<16 {
			b.Fatal(len(rows), err)
		}
	}
}
