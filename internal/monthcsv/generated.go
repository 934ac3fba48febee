package monthcsv

import (
	"bytes"
	"context"
	"flag"
	"fmt"

	"usagereport/fixtures"
)

// Generated is the export a tool makes for itself when it is given no CSV
// file: fixtures' data, chosen by the flags -rows, -orgs and -seed.
type Generated struct {
	Rows, Orgs int
	Seed       uint64
}

// Flags defines -rows, -orgs and -seed on fs, to fill g.
func (g *Generated) Flags(fs *flag.FlagSet) {
	fs.IntVar(&g.Rows, "rows", 1_000_000, "rows to generate when no CSV file is given")
	fs.IntVar(&g.Orgs, "orgs", 300, "organisations to generate")
	fs.Uint64Var(&g.Seed, "seed", 7, "fixtures seed")
}

func (g Generated) String() string {
	return fmt.Sprintf("generated %d rows, %d organisations, seed %d", g.Rows, g.Orgs, g.Seed)
}

// Months generates the export and reads it into one builder per month.
func (g Generated) Months(ctx context.Context) ([]Month, error) {
	var csv bytes.Buffer
	if err := fixtures.Generate(ctx, &csv, fixtures.Config{Rows: g.Rows, Orgs: g.Orgs, Seed: g.Seed}); err != nil {
		return nil, err
	}
	return Read(&csv, "generated.csv")
}
