// Command duckdbjob does the job of `usagereport ingest` plus `report` for
// every month in DuckDB SQL, as a yardstick for scripts/bench: it reads an
// operator export in CSV v1, keeps the allowlisted columns, pseudonymises the
// subscriber, computes the Europe/Oslo month, aggregates every (organisation,
// month) over the cube of cost centre, service and roaming zone, applies the
// primary k-subscriber rule and writes one Parquet file per organisation and
// month. See README.md for what it leaves out.
//
// With -count-only it does nothing but DuckDB's bare scan of the file,
// SELECT count(*) FROM read_csv(FILE), and prints the count and the time:
// the floor that scripts/bench holds our ingest against.
//
// Usage: duckdbjob -csv FILE -out DIR [-k 5] [-threads N] [-plan tuned|plain]
//
//	duckdbjob -csv FILE -count-only [-threads N]
package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// eueea is record.go's list: the 27 EU states (Greece as GR and EL) plus
// Iceland and Liechtenstein.
const eueea = "AT BE BG HR CY CZ DK EE FI FR DE GR EL HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI"

// readCSV reads the export with explicit types for the kept columns; the
// other columns are left as text and, as nothing selects them, are never
// parsed (projection pushdown). A row whose kept value does not cast to its
// type is skipped and listed in reject_errors. start_time is read as text
// and becomes ts here: DuckDB's cast takes an RFC 3339 time with Z or an
// offset, but also one without (as session time), which CSV v1 rejects, so
// the offset is checked first; ts is null for a bad time.
func readCSV(csv string) string {
	return `(SELECT *, CASE WHEN start_time[-1] IN ('Z', 'z')
			OR (start_time[-3] = ':' AND start_time[-6] IN ('+', '-'))
			THEN try_cast(start_time AS TIMESTAMPTZ) END AS ts
		FROM read_csv(` + quote(csv) + `,
		header = true, delim = ',', quote = '"', escape = '"',
		auto_type_candidates = ['VARCHAR'],
		types = {
			'org_number': 'VARCHAR', 'subscriber': 'VARCHAR', 'cost_centre': 'VARCHAR',
			'start_time': 'VARCHAR', 'service': 'VARCHAR', 'duration_s': 'BIGINT',
			'volume_bytes': 'BIGINT', 'country': 'VARCHAR', 'charge': 'DECIMAL(18,4)'},
		store_rejects = true))`
}

// month is the Europe/Oslo month of the start time (ICU; daylight saving
// included): to Oslo wall time, then truncated. It is the same as
// date_trunc('month', ts) under SET TimeZone = 'Europe/Oslo', and faster.
const month = `date_trunc('month', ts AT TIME ZONE 'Europe/Oslo')::DATE`

// rowChecks are the checks of ingest/validate.go that need the row itself:
// the required time and charge, counts >= 0. The CSV reader has already
// parsed the numbers.
const rowChecks = `ts IS NOT NULL AND charge IS NOT NULL
		AND coalesce(duration_s, 0) >= 0 AND coalesce(volume_bytes, 0) >= 0`

// records validates and maps the kept values of rel (columns org_number,
// subscriber, cost_centre, service, country, month, events, duration_s,
// volume_bytes, charge) as ingest/validate.go and record.go do: the org
// number's mod-11 check digit, E.164, the cost centre's length and control
// characters, the service, the country code and its roaming zone; and
// replaces the subscriber with md5(key || number), 128 bits.
func records(rel, key string) string {
	var codes []string
	for _, c := range strings.Fields(eueea) {
		codes = append(codes, "'"+c+"'")
	}
	return `
	SELECT org, md5_number(` + quote(key) + ` || sub) AS sub,
		CASE WHEN cc IS NULL OR cc = '' THEN '(unassigned)' ELSE cc END AS cost_centre,
		month, service,
		CASE WHEN country IS NULL OR country = '' OR country = 'NO' THEN 'domestic'
			WHEN country IN (` + strings.Join(codes, ", ") + `) THEN 'eu_eea'
			ELSE 'world' END AS roaming_zone,
		events, duration_s, volume_bytes, charge
	FROM (
		SELECT trim(org_number) AS org, trim(subscriber) AS sub, trim(cost_centre) AS cc,
			lower(trim(service)) AS service, upper(trim(country)) AS country,
			month, events, coalesce(duration_s, 0) AS duration_s,
			coalesce(volume_bytes, 0) AS volume_bytes, charge
		FROM ` + rel + `
	)
	WHERE regexp_full_match(org, '[0-9]{9}')
		AND (11 - (3 * org[1]::INT + 2 * org[2]::INT + 7 * org[3]::INT + 6 * org[4]::INT
			+ 5 * org[5]::INT + 4 * org[6]::INT + 3 * org[7]::INT + 2 * org[8]::INT) % 11) % 11 = org[9]::INT
		AND regexp_full_match(sub, '\+[1-9][0-9]{7,14}')
		AND service IN ('voice', 'sms', 'mms', 'data')
		AND (country IS NULL OR country = '' OR regexp_full_match(country, '[A-Z]{2}'))
		AND (cc IS NULL OR (length(cc) <= 64 AND NOT regexp_matches(cc, '[\x00-\x1f\x7f]')))`
}

// cubeSQL builds the cube of every organisation and month: GROUP BY
// organisation, month, CUBE(cost centre, service, zone), with the distinct
// count of pseudonyms and the sums.
//
// Plan "plain" is the query as written first: validate, map and pseudonymise
// every row, then one GROUP BY CUBE with count(DISTINCT). Plan "tuned"
// (the default) gives the same cells faster: it first sums the rows per raw
// (organisation, month, cost centre, service, country, subscriber), so that
// the validation, mapping, hashing and the cube's distinct counts run over
// those groups (about a tenth of the rows at 10 million) instead of every
// row. Every value a check looks at is a key of those groups, so the groups
// it drops are exactly the rows it would have dropped.
func cubeSQL(plan, csv, key string) (string, error) {
	var rec string
	switch plan {
	case "plain":
		rec = records(`(SELECT org_number, subscriber, cost_centre, service, country,
			`+month+` AS month, 1 AS events, duration_s, volume_bytes, charge
			FROM `+readCSV(csv)+`
			WHERE `+rowChecks+`)`, key)
	case "tuned":
		rec = records(`(SELECT org_number, subscriber, cost_centre, service, country,
			`+month+` AS month, count(*) AS events, sum(duration_s) AS duration_s,
			sum(volume_bytes) AS volume_bytes, sum(charge) AS charge
			FROM `+readCSV(csv)+`
			WHERE `+rowChecks+`
			GROUP BY ALL)`, key)
	default:
		return "", fmt.Errorf("plan %q: want plain or tuned", plan)
	}
	return `
CREATE TEMP TABLE cube AS
WITH rec AS (` + rec + `
)
SELECT org AS org_number, month, cost_centre, service, roaming_zone,
	grouping(cost_centre, service, roaming_zone) AS set_id,
	count(DISTINCT sub) AS subscribers, sum(events)::BIGINT AS events,
	sum(duration_s)::BIGINT AS duration_s, sum(volume_bytes)::BIGINT AS volume_bytes,
	sum(charge)::DECIMAL(18,4) AS charge
FROM rec
GROUP BY org, month, CUBE (cost_centre, service, roaming_zone)`, nil
}

// reportSQL applies the primary rule to the cube: a cell with fewer than k
// subscribers keeps its key and loses its measures, and an organisation
// with fewer than k subscribers in the month gets no report at all
// (suppress.Cubes withholds it).
func reportSQL(k int) string {
	small := fmt.Sprintf("subscribers < %d", k)
	m := func(col string) string {
		return "CASE WHEN " + small + " THEN NULL ELSE " + col + " END AS " + col
	}
	return `
CREATE TEMP TABLE report AS
SELECT org_number, month, set_id, cost_centre, service, roaming_zone,
	` + m("subscribers") + `, ` + m("events") + `, ` + m("duration_s") + `,
	` + m("volume_bytes") + `, ` + m("charge") + `,
	` + small + ` AS suppressed
FROM cube
WHERE (org_number, month) IN (SELECT (org_number, month) FROM cube WHERE set_id = 7 AND NOT (` + small + `))`
}

// copySQL writes one Parquet file per organisation and month, in the
// report's order: the organisation's total first, the finest cells last.
func copySQL(out string) string {
	return `
COPY (
	SELECT * EXCLUDE (set_id) FROM report
	ORDER BY org_number, month, bit_count(set_id) DESC, set_id, cost_centre, service, roaming_zone
) TO ` + quote(out) + ` (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (org_number, month), OVERWRITE)`
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func main() {
	csv := flag.String("csv", "", "operator export in CSV v1")
	out := flag.String("out", "", "output directory (org_number=…/month=…/*.parquet)")
	k := flag.Int("k", 5, "minimum number of subscribers in a published cell")
	threads := flag.Int("threads", 0, "DuckDB threads (0: DuckDB's default, all cores)")
	plan := flag.String("plan", "tuned", "tuned (aggregate per subscriber first) or plain (one GROUP BY CUBE over the rows)")
	countOnly := flag.Bool("count-only", false, "only SELECT count(*) FROM read_csv(csv), the bare scan; -out is not needed")
	flag.Parse()
	if *countOnly && *csv != "" && flag.NArg() == 0 {
		if err := count(*csv, *threads); err != nil {
			fmt.Fprintln(os.Stderr, "duckdbjob:", err)
			os.Exit(1)
		}
		return
	}
	if *csv == "" || *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*plan, *csv, *out, *k, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "duckdbjob:", err)
		os.Exit(1)
	}
}

func run(plan, csv, out string, k, threads int) error {
	start := time.Now()
	// The pseudonym key: a fresh random secret per run, prefixed to the
	// number before MD5 (DuckDB has no HMAC).
	var kb [32]byte
	if _, err := rand.Read(kb[:]); err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: temp tables and settings hold
	setup := []string{
		// The bundled build has ICU. The month names its zone itself
		// (see month); this makes any other local time Oslo's too.
		"SET TimeZone = 'Europe/Oslo'",
		"SET preserve_insertion_order = false",
		// Spill, if ever, outside the working tree.
		"SET temp_directory = " + quote(filepath.Join(os.TempDir(), "duckdbjob")),
	}
	if threads > 0 {
		setup = append(setup, fmt.Sprintf("SET threads = %d", threads))
	}
	for _, q := range setup {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	q, err := cubeSQL(plan, csv, hex.EncodeToString(kb[:]))
	if err != nil {
		return err
	}
	if _, err := db.Exec(q); err != nil {
		return fmt.Errorf("cube: %w", err)
	}
	tCube := time.Since(start)
	if _, err := db.Exec(reportSQL(k)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := db.Exec(copySQL(out)); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	var rows, months, files, cells, hidden, rejected int64
	err = db.QueryRow(`SELECT coalesce(sum(events), 0), count(*) FROM cube WHERE set_id = 7`).Scan(&rows, &months)
	if err != nil {
		return err
	}
	err = db.QueryRow(`SELECT count(DISTINCT (org_number, month)), count(*), count(*) FILTER (suppressed)
		FROM report`).Scan(&files, &cells, &hidden)
	if err != nil {
		return err
	}
	if err := db.QueryRow("SELECT count(*) FROM reject_errors").Scan(&rejected); err != nil {
		return err
	}
	fmt.Printf("duckdb %s, plan %s: %d rows aggregated, %d rejected by the CSV reader; %d reports (%d withheld), %d cells, %d hidden (k=%d)\n",
		version(db), plan, rows, rejected, files, months-files, cells, hidden, k)
	fmt.Printf("wall %.2f s (read+cube %.2f s, write %.2f s)\n",
		time.Since(start).Seconds(), tCube.Seconds(), (time.Since(start) - tCube).Seconds())
	return nil
}

// count is DuckDB's bare scan of the file: read_csv with its defaults
// (sniffed dialect and types, header on), every row counted, nothing kept.
func count(csv string, threads int) error {
	start := time.Now()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if threads > 0 {
		if _, err := db.Exec(fmt.Sprintf("SET threads = %d", threads)); err != nil {
			return fmt.Errorf("set threads: %w", err)
		}
	}
	var rows int64
	if err := db.QueryRow("SELECT count(*) FROM read_csv(" + quote(csv) + ")").Scan(&rows); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	fmt.Printf("duckdb %s, count(*): %d rows\n", version(db), rows)
	fmt.Printf("wall %.2f s\n", time.Since(start).Seconds())
	return nil
}

func version(db *sql.DB) string {
	var v string
	if err := db.QueryRow("SELECT version()").Scan(&v); err != nil {
		return "?"
	}
	return v
}
