// Command financequery runs the README's DuckDB query for finance (the SQL block after
// "<!-- finance-query: duckdb -->") over a folder of reports and checks what a finance
// user relies on: for every organisation and month, the rows it returns add up to the
// organisation's total charge, and they are the published cost-centre cells plus one
// row for the hidden ones together. It also prints what the naive SUM(charge) over
// every row would have given, which counts each krone several times.
//
// Usage: financequery -readme README.md -reports out/reports
package main

import (
	"bufio"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

const (
	marker      = "<!-- finance-query: duckdb -->"
	readmeGlob  = "'out/reports/*/*.parquet'"
	hiddenLabel = "(hidden cost centres, together)"
)

func main() {
	readme := flag.String("readme", "README.md", "the README holding the query")
	reports := flag.String("reports", "out/reports", "folder of reports, <org>/<org>-<YYYY-MM>.parquet")
	flag.Parse()
	if err := run(*readme, *reports); err != nil {
		fmt.Fprintln(os.Stderr, "financequery:", err)
		os.Exit(1)
	}
}

// query returns the SQL block that follows the marker in the README.
func query(readme string) (string, error) {
	f, err := os.Open(readme)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	state := 0 // 0: before the marker, 1: marker seen, 2: in the block
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case state == 0 && strings.TrimSpace(line) == marker:
			state = 1
		case state == 1 && line == "```sql":
			state = 2
		case state == 2 && line == "```":
			return b.String(), nil
		case state == 2:
			b.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no ```sql block after %s", readme, marker)
}

type key struct{ org, month string }

func run(readme, reports string) error {
	q, err := query(readme)
	if err != nil {
		return err
	}
	if !strings.Contains(q, readmeGlob) {
		return fmt.Errorf("the README's query does not read %s", readmeGlob)
	}
	glob := "'" + strings.ReplaceAll(filepath.Join(reports, "*", "*.parquet"), "'", "''") + "'"
	q = strings.Replace(q, readmeGlob, glob, 1)
	// Read back as text, so that the sums below are exact.
	q = `SELECT org_number, CAST(month AS VARCHAR), cost_centre, CAST(charge AS VARCHAR) FROM (` +
		strings.TrimSuffix(strings.TrimSpace(q), ";") + `)`
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()

	// The README's query, verbatim but for the folder.
	sums := map[key]*big.Rat{}
	published := map[key]int{}
	rows, err := db.Query(q)
	if err != nil {
		return fmt.Errorf("the README's query: %w", err)
	}
	for rows.Next() {
		var org, month, cc, charge string
		if err := rows.Scan(&org, &month, &cc, &charge); err != nil {
			return fmt.Errorf("the README's query: %w", err)
		}
		k := key{org, month}
		if sums[k] == nil {
			sums[k] = new(big.Rat)
		}
		v, ok := new(big.Rat).SetString(charge)
		if !ok {
			return fmt.Errorf("charge %q is no number", charge)
		}
		sums[k].Add(sums[k], v)
		if cc != hiddenLabel {
			published[k]++
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("the README's query: %w", err)
	}

	// What it must equal, read apart: each file's total cell and its published
	// cost-centre cells, and the naive sum for comparison.
	check, err := db.Query(`SELECT org_number, CAST(month AS VARCHAR),
	       CAST(sum(charge) FILTER (WHERE grouping = 'total') AS VARCHAR),
	       count(*) FILTER (WHERE grouping = 'cost_centre' AND NOT suppressed),
	       CAST(coalesce(sum(charge), 0) AS VARCHAR)
	FROM read_parquet(` + glob + `) GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		return fmt.Errorf("the check query: %w", err)
	}
	defer check.Close()
	var problems []error
	totalAll, naiveAll := new(big.Rat), new(big.Rat)
	n := 0
	for check.Next() {
		var org, month, total, naive string
		var nCC int
		if err := check.Scan(&org, &month, &total, &nCC, &naive); err != nil {
			return fmt.Errorf("the check query: %w", err)
		}
		n++
		k := key{org, month}
		want, _ := new(big.Rat).SetString(total)
		nv, _ := new(big.Rat).SetString(naive)
		totalAll.Add(totalAll, want)
		naiveAll.Add(naiveAll, nv)
		switch got := sums[k]; {
		case got == nil:
			problems = append(problems, fmt.Errorf("%s %s: the README's query returns no row", org, month))
		case got.Cmp(want) != 0:
			problems = append(problems, fmt.Errorf("%s %s: the README's query sums to %s, the organisation's total is %s",
				org, month, got.FloatString(4), want.FloatString(4)))
		}
		if published[k] != nCC {
			problems = append(problems, fmt.Errorf("%s %s: %d cost-centre rows, the file publishes %d", org, month, published[k], nCC))
		}
	}
	if err := check.Err(); err != nil {
		return fmt.Errorf("the check query: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("no reports under %s", reports)
	}
	if len(sums) != n {
		problems = append(problems, fmt.Errorf("the README's query returns %d organisation-months, the files hold %d", len(sums), n))
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	fmt.Printf("financequery: %d reports: the README's DuckDB query adds up to each organisation's total (all together %s NOK); a naive SUM(charge) over every row gives %s NOK\n",
		n, totalAll.FloatString(2), naiveAll.FloatString(2))
	return nil
}
