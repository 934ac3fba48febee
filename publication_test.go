package usagereport

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMonthOwner(t *testing.T) {
	const org, other = Org(974760673), Org(923609016)
	oct, nov, dec := MonthOf(2026, 10), MonthOf(2026, 11), MonthOf(2026, 12)
	pubs := []Publication{
		{Org: org, Month: oct, Version: 1, Covered: 10},
		{Org: org, Month: nov, Version: 1, Covered: 20},
		{Org: org, Month: nov, Version: 2, Covered: 25}, // a correction takes what waited for December
		{Org: other, Month: oct, Version: 1, Covered: 5},
	}
	o := NewMonthOwner(pubs)
	tests := []struct {
		name string
		org  Org
		m    Month
		seq  int64
		want Month
	}{
		{"covered by October", org, oct, 10, oct},
		{"after October, covered by November", org, oct, 11, nov},
		{"after November's first version: its correction", org, oct, 21, nov},
		{"after the correction too: December, still open", org, oct, 26, dec},
		{"November's own late record", org, nov, 26, dec},
		{"an open month keeps its records", org, dec, 99, dec},
		{"another organisation's own months", other, oct, 6, nov},
		{"a legacy file (seq 0)", org, oct, 0, oct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := o.Owner(tt.org, tt.m, tt.seq); got != tt.want {
				t.Errorf("Owner(%s, %s, %d) = %s, want %s", tt.org, tt.m, tt.seq, got, tt.want)
			}
		})
	}
	if c, ok := o.Covered(org, nov); !ok || c != 25 {
		t.Errorf("Covered(November) = %d, %v; want the correction's 25", c, ok)
	}
}

func testCells() []Cell {
	return []Cell{
		{Subscribers: 12, Events: 40, DurationS: 3600, VolumeBytes: 1 << 30, Charge: -12345},
		{Set: ByCostCentre, CostCentre: "Salg, Ålesund", Subscribers: 7, Events: 20, Charge: 99, Top1: [3]int64{5, 6, 7}},
		{Set: ByCostCentre, CostCentre: "", Suppression: HiddenSmall, Subscribers: 2, Events: 3},
		{Set: ByService | ByZone, Service: Data, Zone: World, Suppression: HiddenDominance, Charge: 10},
	}
}

func TestEncodeCells(t *testing.T) {
	cells := testCells()
	got, err := DecodeCells(EncodeCells(cells))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(PublishedCells(cells), got); diff != "" {
		t.Errorf("round trip (-published +decoded):\n%s", diff)
	}
	// A hidden cell's measures and the top contributions never go in: the
	// encoding of the cells and of their published form are the same.
	if !bytes.Equal(EncodeCells(cells), EncodeCells(PublishedCells(cells))) {
		t.Error("the encoding keeps something a report does not show")
	}
	if got[2].Subscribers != 0 || got[1].Top1 != [3]int64{} {
		t.Errorf("hidden measures or top contributions came back: %+v", got)
	}
}

// TestEncodeCellsHiddenMeasures keeps the total's amounts hidden on their
// own (report-v2) out of the record, and the mask in it; cells without
// such a mask encode as before, so records made earlier keep their digest.
func TestEncodeCellsHiddenMeasures(t *testing.T) {
	cells := testCells()
	before := EncodeCells(cells)
	cells[0].HiddenMeasures = HideDuration | HideVolume
	cells[0].DurationS, cells[0].VolumeBytes = 987654321, 123456789
	b := EncodeCells(cells)
	if bytes.Equal(b, before) {
		t.Fatal("the mask left no trace in the encoding")
	}
	if bytes.Contains(b, binary.AppendVarint(nil, 987654321)) || bytes.Contains(b, binary.AppendVarint(nil, 123456789)) {
		t.Error("a hidden amount went into the encoding")
	}
	got, err := DecodeCells(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(PublishedCells(cells), got); diff != "" {
		t.Errorf("round trip (-published +decoded):\n%s", diff)
	}
	if got[0].HiddenMeasures != HideDuration|HideVolume || got[0].DurationS != 0 || got[0].VolumeBytes != 0 {
		t.Errorf("total decoded as %+v", got[0])
	}
	cells[0].HiddenMeasures = 0
	cells[0].DurationS, cells[0].VolumeBytes = testCells()[0].DurationS, testCells()[0].VolumeBytes
	if !bytes.Equal(EncodeCells(cells), before) {
		t.Error("cells without a mask no longer encode as before")
	}
}

func FuzzDecodeCells(f *testing.F) {
	f.Add(EncodeCells(testCells()))
	hm := testCells()
	hm[0].HiddenMeasures = HideVolume
	f.Add(EncodeCells(hm))
	f.Add(EncodeCells(nil))
	f.Add([]byte(cellsMagic + "\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cells, err := DecodeCells(b)
		if err != nil {
			return
		}
		// What decodes encodes back to the same bytes.
		if !bytes.Equal(EncodeCells(cells), b) {
			t.Errorf("decode then encode changed %q", b)
		}
	})
}
