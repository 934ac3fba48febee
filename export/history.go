package export

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	ur "usagereport"
)

// ReportFromFile turns a Parquet report read back into the report it was
// written from, as published: a hidden cell comes back hidden with no
// measures, and DominanceP is 0 (the file does not record it). What was
// published, and nothing else, is what a later workbook's history shows
// of that month.
func ReportFromFile(rep *Report) (*ur.Report, error) {
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
	version := 1
	if v, ok := rep.Metadata[MetaPublicationVersion]; ok {
		if version, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("report of %s: metadata %s: %w", org, MetaPublicationVersion, err)
		}
	}
	return &ur.Report{Org: org, Month: m, MinGroupSize: k, Version: version, Cells: cells}, nil
}

// ReadPublished reads the Parquet report of org and month under dir; it
// reports false when there is none.
func ReadPublished(dir string, org ur.Org, m ur.Month) (*ur.Report, bool, error) {
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
	c, err := ReportFromFile(rep)
	if err != nil {
		return nil, false, fmt.Errorf("read report %s %s: %w", org, m, err)
	}
	if c.Org != org || c.Month != m {
		return nil, false, fmt.Errorf("read report %s %s: the file holds %s %s", org, m, c.Org, c.Month)
	}
	return c, true, nil
}

// EditionOf returns the edition a publication's files are.
func EditionOf(p *ur.Publication) Edition {
	return Edition{CreatedAt: p.PublishedAt, Version: p.Version, LateEvents: p.LateEvents}
}
