package export

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	ur "usagereport"
	"usagereport/aggregate"
)

// CubeFromReport turns a published report back into a cube, for the
// workbook's history table. A hidden cell comes back hidden with no
// measures: what was published, and nothing else, is what a later report
// shows of that month.
func CubeFromReport(rep *Report) (*aggregate.Cube, error) {
	if len(rep.Rows) == 0 {
		return nil, errors.New("report has no cells")
	}
	org, err := ur.ParseOrgString(rep.Rows[0].OrgNumber)
	if err != nil {
		return nil, err
	}
	day := rep.Rows[0].Month
	k, err := strconv.Atoi(rep.Metadata[MetaMinGroupSize])
	if err != nil {
		return nil, fmt.Errorf("report of %s: metadata %s: %w", org, MetaMinGroupSize, err)
	}
	cells := make([]ur.Cell, len(rep.Rows))
	for i, r := range rep.Rows {
		if r.OrgNumber != rep.Rows[0].OrgNumber || r.Month != day {
			return nil, fmt.Errorf("report of %s: row %d is of another organisation or month", org, i)
		}
		c := &cells[i]
		if r.CostCentre != nil {
			c.Set |= ur.ByCostCentre
			if c.CostCentre = *r.CostCentre; c.CostCentre == ur.Unassigned {
				c.CostCentre = ""
			}
		}
		if r.Service != nil {
			c.Set |= ur.ByService
			s, ok := ur.ParseService([]byte(*r.Service))
			if !ok {
				return nil, fmt.Errorf("report of %s: row %d: unknown service", org, i)
			}
			c.Service = s
		}
		if r.RoamingZone != nil {
			c.Set |= ur.ByZone
			z, ok := ur.ParseZoneName(*r.RoamingZone)
			if !ok {
				return nil, fmt.Errorf("report of %s: row %d: unknown roaming zone", org, i)
			}
			c.Zone = z
		}
		if r.Suppressed {
			c.Suppression = ur.HiddenSecondary // one look for every hidden cell
			continue
		}
		if err := r.Measures(c); err != nil {
			return nil, fmt.Errorf("report of %s: row %d: %w", org, i, err)
		}
	}
	t := ur.MonthOf(1970, 1).FirstDay().AddDate(0, 0, int(day))
	m := ur.MonthOf(t.Year(), t.Month())
	return aggregate.NewCube(org, m, k, cells), nil
}

// ReadPublished reads the Parquet report of org and month under dir, as a
// cube; it reports false when there is none.
func ReadPublished(dir string, org ur.Org, m ur.Month) (*aggregate.Cube, bool, error) {
	b, err := os.ReadFile(Path(dir, org, m, "parquet"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read report %s %s: %w", org, m, err)
	}
	rep, err := ReadParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, false, fmt.Errorf("read report %s %s: %w", org, m, err)
	}
	c, err := CubeFromReport(rep)
	if err != nil {
		return nil, false, fmt.Errorf("read report %s %s: %w", org, m, err)
	}
	if c.Org != org || c.Month != m {
		return nil, false, fmt.Errorf("read report %s %s: the file holds %s %s", org, m, c.Org, c.Month)
	}
	return c, true, nil
}

// CubeFromPublication turns a publication record into a cube: the cells
// exactly as published, hidden ones without measures. Every file of a
// published month, and the workbook history of later months, is written
// from this cube and never from the store.
func CubeFromPublication(p *ur.Publication) *aggregate.Cube {
	return aggregate.NewCube(p.Org, p.Month, p.MinGroupSize, p.Cells)
}

// EditionOf returns the edition a publication's files are.
func EditionOf(p *ur.Publication) Edition {
	return Edition{CreatedAt: p.PublishedAt, Version: p.Version, LateEvents: p.LateEvents}
}
