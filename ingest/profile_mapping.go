package ingest

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file holds what a Profile maps, and how the mapping and the columns
// it drops are shown to people.

// findSources looks each of the profile's source columns up in pos (folded
// column name to position) and calls found with the kept field c, the
// source's place k among the field's sources and its position i; an error
// from found ends the search. It returns the sources of required fields
// that pos lacks, as a message names them: the field and the profile's
// name for the column, never anything read from the file.
func (p *Profile) findSources(pos map[string]int, found func(c, k, i int) error) (missing []string, err error) {
	for c, srcs := range p.sources {
		for k, s := range srcs {
			i, ok := pos[foldName(s)]
			if !ok {
				if required[c] {
					missing = append(missing, fmt.Sprintf("%s (%q)", colNames[c], s))
				}
				continue
			}
			if err := found(c, k, i); err != nil {
				return nil, err
			}
		}
	}
	return missing, nil
}

// foldName is how column, key and service names are compared: trimmed, in
// any case.
func foldName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Name returns the profile's name, for people.
func (p *Profile) Name() string { return p.name }

// Format returns csv, jsonl or parquet.
func (p *Profile) Format() string { return p.format }

// FieldSource is one kept field and the source columns that feed it.
type FieldSource struct {
	Field   string   // the kept field's CSV v1 name
	Sources []string // nil when the profile does not map it
}

// Mapping lists the kept fields in CSV v1 order with their sources.
func (p *Profile) Mapping() []FieldSource {
	m := make([]FieldSource, numCols)
	for c := range m {
		m[c] = FieldSource{Field: colNames[c], Sources: slices.Clone(p.sources[c])}
	}
	return m
}

// Describe says in one line how the profile reads values.
func (p *Profile) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "format %s", p.format)
	if p.format == formatCSV {
		fmt.Fprintf(&b, ", separator %q, encoding %s", p.sep, p.encoding)
	}
	fmt.Fprintf(&b, ", decimal separator %q", p.decimal)
	if p.thousands != "" {
		fmt.Fprintf(&b, ", thousands separator %q", p.thousands)
	}
	switch {
	case p.timeLayout == "":
		b.WriteString(", times RFC 3339 with offset")
	case p.layoutOff:
		fmt.Fprintf(&b, ", times %q with offset", p.timeLayout)
	default:
		fmt.Fprintf(&b, ", times %q in %s (repeated hour: %s; skipped hour: rejected)", p.timeLayout, p.zoneName, p.repeated)
	}
	if p.clockDuration {
		b.WriteString(", durations h:mm:ss")
	}
	if p.nationalPrefix != "" {
		fmt.Fprintf(&b, ", numbers without '+' get %s", p.nationalPrefix)
	}
	if len(p.services) > 0 {
		fmt.Fprintf(&b, ", %d service names mapped", len(p.services))
	}
	return b.String()
}

// withheld stands in for a dropped column's name that may be a value.
const withheld = "(a name that looks like a value, withheld)"

// dropName is how a dropped column is named to people: by its name, unless
// the name looks like a value (five or more digits, an '@', or long), as
// when a file has no header or a JSON object is keyed by phone numbers.
func dropName(s string) string {
	s = strings.TrimSpace(s)
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits >= 5 || strings.ContainsRune(s, '@') || utf8.RuneCountInString(s) > 64 {
		return withheld
	}
	return s
}
