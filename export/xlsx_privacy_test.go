package export

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	ur "usagereport"
)

// What the workbook never shows: a hidden value, a bound, or why a cell
// is hidden.

// boundRE matches text that bounds a value, such as "<5" or "≤ 4".
var boundRE = regexp.MustCompile(`[<>≤≥]\s*[0-9]|&lt;\s*[0-9]`)

// rotateReasons gives every hidden cell another of the hiding rules.
func rotateReasons(cells []ur.Cell) {
	for i := range cells {
		switch cells[i].Suppression {
		case ur.HiddenSmall:
			cells[i].Suppression = ur.HiddenSecondary
		case ur.HiddenSecondary:
			cells[i].Suppression = ur.HiddenDominance
		case ur.HiddenDominance:
			cells[i].Suppression = ur.HiddenSmall
		}
	}
}

// TestXLSXHiddenLookAlike checks that a cell hidden by the primary rule
// and one hidden by the secondary rule cannot be told apart: the same
// cube with every hidden cell's reason changed gives the same workbook,
// part for part.
func TestXLSXHiddenLookAlike(t *testing.T) {
	a := newTestCube(t, testMonth, smallSpecs, 0, secondary)
	b := newTestCube(t, testMonth, smallSpecs, 0, func(cells []ur.Cell) { secondary(cells); rotateReasons(cells) })
	ca, cb := a.Cells, b.Cells
	reasons := map[[2]ur.Suppression]int{}
	for i := range ca {
		if ca[i].Suppression.Hidden() != cb[i].Suppression.Hidden() {
			t.Fatal("the two cubes hide different cells")
		}
		reasons[[2]ur.Suppression{ca[i].Suppression, cb[i].Suppression}]++
	}
	for _, pair := range [][2]ur.Suppression{
		{ur.HiddenSmall, ur.HiddenSecondary}, {ur.HiddenSecondary, ur.HiddenDominance}, {ur.HiddenDominance, ur.HiddenSmall},
	} {
		if reasons[pair] == 0 {
			t.Fatalf("fixture has no cell hidden as %v in one cube and %v in the other", pair[0], pair[1])
		}
	}
	pa, pb := unzipParts(t, writeXLSX(t, a, nil)), unzipParts(t, writeXLSX(t, b, nil))
	if len(pa) != len(pb) {
		t.Errorf("%d parts against %d", len(pa), len(pb))
	}
	for name, part := range pa {
		if !bytes.Equal(part, pb[name]) {
			t.Errorf("part %s differs between primary and secondary hiding", name)
		}
	}
	// And within one workbook, every hidden cell of the body looks alike.
	f := openXLSX(t, writeXLSX(t, a, nil))
	styles := map[string]bool{}
	for _, sheet := range []string{SheetCostCentres, SheetRoaming, SheetSummary} {
		grid, _ := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		for r, row := range grid {
			for col, v := range row {
				if boundRE.MatchString(v) {
					t.Errorf("%s row %d: %q looks like a bound", sheet, r+1, v)
				}
				if v != Mark {
					continue
				}
				ref, _ := excelize.CoordinatesToCellName(col+1, r+1)
				styles[cellFormat(t, f, sheet, ref)] = true
			}
		}
	}
	// Two looks: a body cell, and a bold one in a total row or column.
	if len(styles) > 2 {
		t.Errorf("hidden cells have %d looks: %v", len(styles), styles)
	}
}

// hiddenTokens returns the ways a hidden cell's measures could be written
// into the workbook, leaving out short tokens and those that a published
// cell also has.
func hiddenTokens(t *testing.T, cubes ...*ur.Report) []string {
	forms := func(c ur.Cell) []string {
		nok := float64(c.Charge) / 10_000
		gb := float64(c.VolumeBytes) / 1e9
		return []string{
			strconv.FormatFloat(nok, 'f', -1, 64), fmt.Sprintf("%.2f", nok), c.Charge.String(),
			strconv.FormatInt(c.DurationS, 10), strconv.FormatInt(roundDiv(c.DurationS, 60), 10),
			strconv.FormatInt(c.VolumeBytes, 10), strconv.FormatFloat(gb, 'f', -1, 64), fmt.Sprintf("%.1f", gb),
			strconv.FormatInt(c.Events, 10),
		}
	}
	hidden, published := map[string]bool{}, map[string]bool{}
	for _, cube := range cubes {
		for _, c := range cube.Cells {
			for _, tok := range forms(c) {
				if c.Suppression.Hidden() {
					hidden[tok] = true
				} else {
					published[tok] = true
				}
			}
		}
	}
	var toks []string
	for tok := range hidden {
		if len(strings.Trim(tok, "0.")) >= 4 && !published[tok] {
			toks = append(toks, tok)
		}
	}
	slices.Sort(toks)
	return toks
}

// TestXLSXNoHiddenValue scans every part of the unzipped workbook (sheets,
// shared strings, chart, properties) for any form of a hidden cell's
// measures.
func TestXLSXNoHiddenValue(t *testing.T) {
	c, history := smallCubes(t)
	toks := hiddenTokens(t, append(slices.Clone(history), c)...)
	if len(toks) < 20 {
		t.Fatalf("only %d distinctive hidden values to look for", len(toks))
	}
	parts := unzipParts(t, writeXLSX(t, c, history))
	for _, tok := range toks {
		re := regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(tok) + `($|[^0-9])`)
		for name, part := range parts {
			if loc := re.FindIndex(part); loc != nil {
				t.Errorf("hidden value %s appears in %s: …%s…", tok, name, part[max(0, loc[0]-60):min(len(part), loc[1]+20)])
			}
		}
	}
	// Nor any bound such as "<5", in any part's text.
	escapedBound := regexp.MustCompile(`&lt;\s*[0-9]|&gt;\s*[0-9]|[≤≥]`)
	for name, part := range parts {
		if loc := escapedBound.FindIndex(part); loc != nil {
			t.Errorf("%s has a bound: …%s…", name, part[max(0, loc[0]-40):min(len(part), loc[1]+20)])
		}
	}
	t.Logf("looked for %d hidden values in %d parts", len(toks), len(parts))
}
