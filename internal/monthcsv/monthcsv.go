// Package monthcsv aggregates a CSV v1 export straight into one cube
// builder per month, without a store: for the tools that check the
// suppression against an exact reference (internal/optimum's compare and
// cover), not for the product, whose reports always come from a store.
package monthcsv

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/ingest"
)

// Month is one month of an export, aggregated.
type Month struct {
	Month   ur.Month
	Builder *aggregate.Builder
}

// Read reads the export r (named name in errors) into one builder per
// month, in the order the months first appear. Rows ingest rejects are
// skipped, as ingest skips them; the pseudonym key is fixed, since the
// builders' cells never leave the tool.
func Read(r io.Reader, name string) ([]Month, error) {
	pseudo, err := ingest.NewPseudonymizer(bytes.Repeat([]byte("usagereport-monthcsv-"), 2))
	if err != nil {
		return nil, err
	}
	oslo, err := ingest.NewOslo()
	if err != nil {
		return nil, err
	}
	rd, err := ingest.NewReader(r, name, pseudo, oslo)
	if err != nil {
		return nil, err
	}
	index := map[ur.Month]int{}
	var months []Month
	var rec ur.Record
	for {
		err := rd.Read(&rec)
		if errors.Is(err, io.EOF) {
			return months, nil
		}
		if err != nil {
			if _, ok := errors.AsType[*ingest.Rejection](err); ok {
				continue
			}
			return nil, fmt.Errorf("aggregate %s by month: %w", name, err)
		}
		i, ok := index[rec.Month]
		if !ok {
			i = len(months)
			index[rec.Month] = i
			months = append(months, Month{Month: rec.Month, Builder: aggregate.NewBuilder(rec.Month)})
		}
		if err := months[i].Builder.Add(&rec); err != nil {
			return nil, fmt.Errorf("aggregate %s by month: %w", name, err)
		}
	}
}
