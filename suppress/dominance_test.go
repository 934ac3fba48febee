package suppress

import (
	"math"
	"strings"
	"testing"

	ur "usagereport"
)

func TestDominated(t *testing.T) {
	const p15 = 150_000 // 15% in parts per million
	tests := []struct {
		name              string
		total, top1, top2 int64
		want              bool
	}{
		{"one spender", 100, 100, 0, true},
		{"two equal, nobody else", 200, 100, 100, true},
		{"others hold 14%", 114 + 50, 100, 50, true},
		{"others hold exactly 15%", 115 + 50, 100, 50, false},
		{"others hold 16%", 116 + 50, 100, 50, false},
		{"five equal", 500, 100, 100, false},
		{"credit of 10 among others", 100 + 50 - 10, 100, 50, true},
		{"large credits elsewhere", 100 + 50 - 40, 100, 50, false},
		{"nothing positive", 0, 0, 0, false},
		{"only credits", -30, -10, -10, false},
		{"overflow", math.MinInt64 + 1, math.MaxInt64, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dominated(tt.total, tt.top1, tt.top2, p15); got != tt.want {
				t.Errorf("dominated(%d, %d, %d) = %v, want %v", tt.total, tt.top1, tt.top2, got, tt.want)
			}
		})
	}
}

func TestDominance(t *testing.T) {
	total := ur.Cell{Events: 100, Subscribers: 20}
	cell := func(set ur.GroupingSet, events int64, charge ur.Amount, top1, top2 int64) ur.Cell {
		c := ur.Cell{Set: set, Events: events, Subscribers: 6, Charge: charge}
		c.Top1[ur.Charge-ur.Duration], c.Top2[ur.Charge-ur.Duration] = top1, top2
		return c
	}
	cells := []ur.Cell{
		total,
		cell(ur.ByCostCentre, 50, 1000, 950, 10), // one spender: hidden
		cell(ur.ByCostCentre, 50, 1000, 300, 200), // spread: published
		cell(ur.ByService, 100, 1000, 950, 10),    // all the total's events: exempt
	}
	cells[3].Suppression = ur.Published
	Dominance(cells, Config{MinGroupSize: 5})
	want := []ur.Suppression{ur.Published, ur.HiddenDominance, ur.Published, ur.Published}
	for i := range cells {
		if cells[i].Suppression != want[i] {
			t.Errorf("cell %d: %v, want %v", i, cells[i].Suppression, want[i])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{MinGroupSize: 5}, ""},
		{"p set", Config{MinGroupSize: 5, DominanceP: 10}, ""},
		{"p 100", Config{MinGroupSize: 3, DominanceP: 100}, ""},
		{"k too small", Config{MinGroupSize: 2}, "minimum group size 2"},
		{"p negative", Config{MinGroupSize: 5, DominanceP: -1}, "dominance p -1"},
		{"p above 100", Config{MinGroupSize: 5, DominanceP: 101}, "dominance p 101"},
		{"p NaN", Config{MinGroupSize: 5, DominanceP: math.NaN()}, "dominance p NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
	if got := (Config{MinGroupSize: 5}).WithDefaults().DominanceP; got != DefaultDominanceP {
		t.Errorf("WithDefaults().DominanceP = %v, want %v", got, DefaultDominanceP)
	}
}
