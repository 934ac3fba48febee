package usagereport

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMeasureValue(t *testing.T) {
	c := Cell{Events: 3, DurationS: 120, VolumeBytes: 5000, Charge: 70_000}
	for _, tt := range []struct {
		m      Measure
		name   string
		value  int64
		amount bool
	}{
		{Events, "events", 3, false},
		{Duration, "duration_s", 120, true},
		{Volume, "volume_bytes", 5000, true},
		{Charge, "charge", 70_000, true},
	} {
		if got := tt.m.String(); got != tt.name {
			t.Errorf("%d: String %q, want %q", tt.m, got, tt.name)
		}
		if got := tt.m.Value(&c); got != tt.value {
			t.Errorf("%s: Value %d, want %d", tt.m, got, tt.value)
		}
		if got := tt.m.Amount(); got != tt.amount {
			t.Errorf("%s: Amount %t, want %t", tt.m, got, tt.amount)
		}
	}
	if got := NumMeasures.String(); got != "Measure(4)" {
		t.Errorf("NumMeasures.String() = %q", got)
	}
}

// TestAddTop adds random subscribers' amounts to a cell and wants the
// two largest of each amount, as sorting them gives.
func TestAddTop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 40; n++ {
		var c Cell
		var seen [NumMeasures][]int64
		for range n {
			c.Subscribers++
			for m := Duration; m < NumMeasures; m++ {
				v := r.Int64N(1000) - 100 // credits too
				seen[m] = append(seen[m], v)
				c.AddTop(m, v)
			}
		}
		for m := Duration; m < NumMeasures; m++ {
			s := slices.Clone(seen[m])
			slices.Sort(s)
			slices.Reverse(s)
			want2 := int64(0)
			if len(s) > 1 {
				want2 = s[1]
			}
			if t1, t2 := c.Top(m); t1 != s[0] || t2 != want2 {
				t.Fatalf("%d subscribers, %s: Top %d, %d; want %d, %d", n, m, t1, t2, s[0], want2)
			}
		}
	}
}

// TestPublicationReport checks that a publication's report carries its
// cells and what they were made with.
func TestPublicationReport(t *testing.T) {
	p := Publication{Org: 974760673, Month: MonthOf(2026, 10), Version: 2, MinGroupSize: 7, DominanceP: 20, Cells: testCells()}
	r := p.Report()
	if r.Org != p.Org || r.Month != p.Month || r.Version != 2 || r.MinGroupSize != 7 || r.DominanceP != 20 || len(r.Cells) != len(p.Cells) {
		t.Errorf("Report() = %+v, from %+v", r, p)
	}
}

func TestClearHiddenMeasures(t *testing.T) {
	c := Cell{DurationS: 5, VolumeBytes: 6, HiddenMeasures: HideVolume}
	c.ClearHiddenMeasures()
	if c.DurationS != 5 || c.VolumeBytes != 0 {
		t.Errorf("hiding volume: duration %d, volume %d; want 5, 0", c.DurationS, c.VolumeBytes)
	}
}
