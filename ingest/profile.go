package ingest

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	ur "usagereport"
)

// Profile says how to read one operator's export: its format, separator,
// encoding, number and time conventions, which of its columns feed the kept
// fields of CSV v1, and what its service names mean. A column the profile
// does not map is dropped, exactly as CSV v1 drops a column it does not
// list: the mapping is the allowlist.
//
// A profile is a TOML file (see ParseProfile). TOML, not YAML or JSON,
// because an operator's profile wants comments beside its choices (JSON has
// none), and because YAML reads an unquoted NO, the country code of Norway,
// as false.
type Profile struct {
	name      string
	format    string // formatCSV, formatJSONL, formatParquet
	sep       rune
	encoding  string // encUTF8, encLatin1, encWindows1252
	decimal   byte   // '.' or ','
	thousands string // "" for none

	timeLayout string         // "" for RFC 3339 with offset
	layoutOff  bool           // timeLayout holds an offset
	loc        *time.Location // for wall-clock times; nil when values carry offsets
	zoneName   string
	repeated   string // repeatEarlier, repeatLater, repeatReject

	clockDuration  bool   // durations as h:mm:ss, not seconds
	nationalPrefix string // "+47": put before numbers given without '+'

	sources  [numCols][]string // source column names of each kept field
	services map[string]ur.Service
	v1       bool // the built-in CSV v1 profile: read by the fast Reader
}

// Input formats, encodings and policies a profile may name.
const (
	formatCSV     = "csv"
	formatJSONL   = "jsonl"
	formatParquet = "parquet"

	encUTF8        = "utf-8"
	encLatin1      = "latin-1"
	encWindows1252 = "windows-1252"

	repeatEarlier = "earlier"
	repeatLater   = "later"
	repeatReject  = "reject"

	durationSeconds = "seconds"
	durationClock   = "h:mm:ss"

	layoutRFC3339 = "rfc3339"
)

// maxProfile bounds a profile file.
const maxProfile = 1 << 20

// profileFile is the TOML form of a Profile.
type profileFile struct {
	Name               string            `toml:"name"`
	Format             string            `toml:"format"`
	Separator          *string           `toml:"separator"`
	Encoding           string            `toml:"encoding"`
	DecimalSeparator   string            `toml:"decimal_separator"`
	ThousandsSeparator string            `toml:"thousands_separator"`
	TimeLayout         string            `toml:"time_layout"`
	TimeZone           string            `toml:"time_zone"`
	RepeatedHour       string            `toml:"repeated_hour"`
	DurationFormat     string            `toml:"duration_format"`
	NationalPrefix     string            `toml:"national_prefix"`
	Columns            map[string]any    `toml:"columns"`
	Services           map[string]string `toml:"services"`
}

// CSVv1Profile returns the profile of CSV v1, the default format. A reader
// opened with it is the fast CSV v1 Reader itself.
func CSVv1Profile() *Profile {
	p := &Profile{name: "CSV v1", format: formatCSV, sep: ',', encoding: encUTF8, decimal: '.', v1: true}
	for c, n := range colNames {
		p.sources[c] = []string{n}
	}
	return p
}

// ParseProfile reads a profile. Every fault is found before any file is
// read, and all of them are named in one error: an unknown key, a kept
// field that is required but not mapped, a source column mapped twice, a
// bad separator, an unknown encoding or zone, a time layout that does not
// hold a full date and time.
//
//	format = "csv"                    # csv (default), jsonl or parquet
//	separator = ";"                   # csv only; default ","
//	encoding = "latin-1"              # utf-8 (default), latin-1, windows-1252
//	decimal_separator = ","           # "." (default) or ","
//	thousands_separator = " "         # default none
//	time_layout = "02.01.2006 15:04"  # Go layout; default rfc3339 (with offset)
//	time_zone = "Europe/Oslo"         # for a layout without offset
//	repeated_hour = "earlier"         # earlier (default), later or reject
//	duration_format = "h:mm:ss"       # seconds (default) or h:mm:ss
//	national_prefix = "+47"           # for subscriber numbers without '+'
//
//	[columns]                         # kept field = source column
//	org_number = "Org.nr"
//	start_time = ["Dato", "Tid"]      # date and time: joined by one space
//
//	[services]                        # operator's name = voice|sms|mms|data
//	"Tale" = "voice"
func ParseProfile(r io.Reader) (*Profile, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxProfile+1))
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	if len(data) > maxProfile {
		return nil, fmt.Errorf("profile: longer than %d bytes", maxProfile)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("profile: not UTF-8 text")
	}
	var pf profileFile
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&pf)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	var bad []string
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = fmt.Sprintf("%q", k.String())
		}
		bad = append(bad, "unknown key(s) "+strings.Join(keys, ", "))
	}
	p := &Profile{name: pf.Name}
	bad = append(bad, p.setFormat(&pf)...)
	bad = append(bad, p.setNumbers(&pf)...)
	bad = append(bad, p.setTime(&pf)...)
	bad = append(bad, p.setColumns(pf.Columns)...)
	bad = append(bad, p.setServices(pf.Services)...)
	if len(bad) > 0 {
		return nil, fmt.Errorf("profile refused: %s", strings.Join(bad, "; "))
	}
	return p, nil
}

func (p *Profile) setFormat(pf *profileFile) (bad []string) {
	switch p.format = strings.ToLower(strings.TrimSpace(pf.Format)); p.format {
	case "":
		p.format = formatCSV
	case formatCSV, formatJSONL, formatParquet:
	default:
		bad = append(bad, fmt.Sprintf("format %q is not csv, jsonl or parquet", pf.Format))
	}
	switch {
	case pf.Separator == nil:
		p.sep = ','
	case p.format != formatCSV:
		bad = append(bad, "separator applies to format csv only")
	default:
		s := *pf.Separator
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case n == 0 || n != len(s):
			bad = append(bad, fmt.Sprintf("separator %q is not one character", s))
		case r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError || unicode.IsLetter(r) || unicode.IsDigit(r):
			bad = append(bad, fmt.Sprintf("separator %q cannot separate fields (a quote, line end, letter or digit)", s))
		}
		if n == len(s) && r >= utf8.RuneSelf && r != utf8.RuneError {
			bad = append(bad, fmt.Sprintf("separator %q is not an ASCII character", s))
		}
		p.sep = r
	}
	enc := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(pf.Encoding))
	switch enc {
	case "", "utf8":
		p.encoding = encUTF8
	case "latin1", "iso88591":
		p.encoding = encLatin1
	case "windows1252", "cp1252":
		p.encoding = encWindows1252
	default:
		bad = append(bad, fmt.Sprintf("encoding %q is not utf-8, latin-1 or windows-1252", pf.Encoding))
	}
	if p.format != formatCSV && p.encoding != encUTF8 {
		bad = append(bad, fmt.Sprintf("encoding of format %s is always utf-8", p.format))
	}
	return bad
}

func (p *Profile) setNumbers(pf *profileFile) (bad []string) {
	switch pf.DecimalSeparator {
	case "", ".":
		p.decimal = '.'
	case ",":
		p.decimal = ','
	default:
		bad = append(bad, fmt.Sprintf("decimal_separator %q is not \".\" or \",\"", pf.DecimalSeparator))
	}
	switch t := pf.ThousandsSeparator; {
	case t == "":
	case utf8.RuneCountInString(t) != 1 || strings.ContainsAny(t, "0123456789+-"):
		bad = append(bad, fmt.Sprintf("thousands_separator %q is not one character other than a digit or sign", t))
	case t == string(p.decimal):
		bad = append(bad, "thousands_separator is the decimal separator")
	default:
		p.thousands = t
	}
	switch pf.DurationFormat {
	case "", durationSeconds:
	case durationClock:
		p.clockDuration = true
	default:
		bad = append(bad, fmt.Sprintf("duration_format %q is not seconds or h:mm:ss", pf.DurationFormat))
	}
	if np := pf.NationalPrefix; np != "" {
		if len(np) < 2 || len(np) > 4 || np[0] != '+' || np[1] == '0' || strings.Trim(np[1:], "0123456789") != "" {
			bad = append(bad, fmt.Sprintf("national_prefix %q is not '+' and a country code, like \"+47\"", np))
		}
		p.nationalPrefix = np
	}
	return bad
}

// Reference times for checking a time layout: a layout must show a time's
// date, hour and minute, and whether it shows an offset decides whether it
// needs a zone.
var (
	layoutProbe    = time.Date(2026, 10, 25, 14, 37, 52, 0, time.UTC)
	layoutProbeOff = time.Date(2026, 10, 25, 14, 37, 52, 0, time.FixedZone("", 5*3600+30*60))
)

func (p *Profile) setTime(pf *profileFile) (bad []string) {
	layout := pf.TimeLayout
	if layout == "" || strings.EqualFold(layout, layoutRFC3339) {
		if pf.TimeZone != "" {
			bad = append(bad, "time_zone applies to a time_layout without offset; RFC 3339 times carry their own")
		}
		if pf.RepeatedHour != "" {
			bad = append(bad, "repeated_hour applies to a time_layout without offset")
		}
		return bad
	}
	p.timeLayout = layout
	if strings.Contains(layout, "MST") {
		return append(bad, "time_layout: zone abbreviations (MST) are ambiguous; use an offset (Z07:00) or time_zone")
	}
	t, err := time.Parse(layout, layoutProbe.Format(layout))
	if err != nil || t.Year() != 2026 || t.Month() != 10 || t.Day() != 25 || t.Hour() != 14 || t.Minute() != 37 {
		return append(bad, fmt.Sprintf("time_layout %q does not hold a full date, hour and minute (write it as Go's reference time, e.g. \"02.01.2006 15:04:05\")", layout))
	}
	if t, err := time.Parse(layout, layoutProbeOff.Format(layout)); err == nil {
		_, off := t.Zone()
		p.layoutOff = off == 5*3600+30*60
	}
	switch {
	case p.layoutOff && pf.TimeZone != "":
		bad = append(bad, "time_zone applies to a time_layout without offset, and this one has one")
	case p.layoutOff && pf.RepeatedHour != "":
		bad = append(bad, "repeated_hour applies to a time_layout without offset, and this one has one")
	case p.layoutOff:
	case pf.TimeZone == "":
		bad = append(bad, "time_zone is required: time_layout has no offset (e.g. time_zone = \"Europe/Oslo\")")
	default:
		loc, err := time.LoadLocation(pf.TimeZone)
		if err != nil || pf.TimeZone == "Local" {
			bad = append(bad, fmt.Sprintf("time_zone %q is not a known zone", pf.TimeZone))
		}
		p.loc, p.zoneName = loc, pf.TimeZone
		switch p.repeated = pf.RepeatedHour; p.repeated {
		case "":
			p.repeated = repeatEarlier
		case repeatEarlier, repeatLater, repeatReject:
		default:
			bad = append(bad, fmt.Sprintf("repeated_hour %q is not earlier, later or reject", pf.RepeatedHour))
		}
	}
	return bad
}

func (p *Profile) setColumns(cols map[string]any) (bad []string) {
	owner := make(map[string]string) // folded source name -> kept field
	fields := slices.Sorted(maps.Keys(cols))
	for _, field := range fields {
		c := slices.Index(colNames[:], field)
		if c < 0 {
			bad = append(bad, fmt.Sprintf("columns: %q is not a kept field (%s)", field, strings.Join(colNames[:], ", ")))
			continue
		}
		var names []string
		switch v := cols[field].(type) {
		case string:
			names = []string{v}
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					names = nil
					break
				}
				names = append(names, s)
			}
		}
		max := 1
		if c == colStartTime {
			max = 2
		}
		if len(names) == 0 || len(names) > max {
			if max == 2 {
				bad = append(bad, "columns.start_time must name one column, or two (date, then time)")
			} else {
				bad = append(bad, fmt.Sprintf("columns.%s must name one column", field))
			}
			continue
		}
		for _, n := range names {
			key := foldName(n)
			if key == "" {
				bad = append(bad, fmt.Sprintf("columns.%s names an empty column", field))
				continue
			}
			if prev, ok := owner[key]; ok {
				bad = append(bad, fmt.Sprintf("column %q is mapped twice (to %s and %s)", n, prev, field))
				continue
			}
			owner[key] = field
		}
		p.sources[c] = names
	}
	for c, req := range required {
		if req && p.sources[c] == nil {
			bad = append(bad, fmt.Sprintf("required field %s is not mapped in [columns]", colNames[c]))
		}
	}
	return bad
}

func (p *Profile) setServices(m map[string]string) (bad []string) {
	if len(m) == 0 {
		return nil
	}
	p.services = make(map[string]ur.Service, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		key := foldName(k)
		s, ok := ur.ParseService([]byte(m[k]))
		switch {
		case key == "":
			bad = append(bad, "services: an empty name")
		case !ok:
			bad = append(bad, fmt.Sprintf("services.%q = %q is not voice, sms, mms or data", k, m[k]))
		default:
			if _, dup := p.services[key]; dup {
				bad = append(bad, fmt.Sprintf("services: %q is listed twice (names match in any case)", k))
			}
			p.services[key] = s
		}
	}
	return bad
}
