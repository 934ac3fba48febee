package suppress

import (
	"fmt"
	"strings"
	"testing"

	ur "usagereport"
	"usagereport/internal/golden"
)

// TestSmallTableGolden runs a table small enough to solve on paper.
//
// Nine subscribers, k = 3, everything domestic (so every cell of the zone
// grouping sets has a twin without the zone, with the same content). Cost
// centre A: five subscribers with voice, four of them also data. Cost
// centre B: four with voice, one of them also data. Every event costs
// 10 NOK; calls are 60 s, data sessions 1000 bytes.
//
// On paper:
//   - Primary, k: B/data has one subscriber.
//   - Primary, p%-rule: B's whole volume is that one subscriber's data, so
//     B (and its twin) tells what they used: hidden. A's data comes from four
//     equal users and its voice from five: no other cell is dominated (B/voice
//     has no volume at all).
//   - Secondary: total = A + B with the total published, so A must go (or B
//     would be total - A). Then data = A/data + B/data with data published
//     forces A/data. Check: unknowns A, B, A/data, B/data; equations
//     total = A + B, A = A/voice + A/data, B = B/voice + B/data,
//     data = A/data + B/data have rank 3 (the first is the sum of the other
//     three), so one degree of freedom moves all four: none is determined.
//     Publishing A/data instead would give B/data = data - A/data away.
//     So the pattern is B, B/data, A, A/data and their twins: 8 cells, 4 of
//     them secondary. The voice cells and the service margins stay
//     published.
func TestSmallTableGolden(t *testing.T) {
	var recs []ur.Record
	add := func(cc string, sub byte, svc ur.Service) {
		r := ur.Record{Org: 923609016, Month: testMonth, CostCentre: cc, Service: svc, Zone: ur.Domestic, Charge: 10 * ur.AmountScale}
		r.Subscriber[0] = sub
		if svc == ur.Voice {
			r.DurationS = 60
		} else {
			r.VolumeBytes = 1000
		}
		recs = append(recs, r)
	}
	for s := byte(1); s <= 5; s++ {
		add("A", s, ur.Voice)
		if s <= 4 {
			add("A", s, ur.Data)
		}
	}
	for s := byte(11); s <= 14; s++ {
		add("B", s, ur.Voice)
		if s == 11 {
			add("B", s, ur.Data)
		}
	}
	cubes := buildCubes(t, recs, Config{MinGroupSize: 3})
	cells := mustCells(t, cubes[0])
	var b strings.Builder
	for i := range cells {
		c := &cells[i]
		fmt.Fprintf(&b, "%-58s subscribers=%d events=%d charge=%s %s\n",
			CellName(c), c.Subscribers, c.Events, c.Charge, suppressionName(c.Suppression))
	}
	res := Audit(cells)
	fmt.Fprintf(&b, "hidden=%d disclosed=%d\n", res.Hidden, len(res.Disclosed))
	fmt.Fprintf(&b, "loss=%+v\n", LossOf(cells))
	golden.Compare(t, "testdata/small_table.golden", b.String())
}

func suppressionName(s ur.Suppression) string {
	switch s {
	case ur.Published:
		return "published"
	case ur.HiddenSmall:
		return "hidden:small"
	case ur.HiddenDominance:
		return "hidden:dominance"
	case ur.HiddenSecondary:
		return "hidden:secondary"
	}
	return fmt.Sprintf("Suppression(%d)", s)
}
