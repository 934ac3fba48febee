package ingest

import (
	"math/big"
	"strings"
	"testing"
	"time"
)

const goodProfile = `
name = "test"
format = "csv"
separator = ";"
encoding = "latin-1"
decimal_separator = ","
thousands_separator = " "
time_layout = "02.01.2006 15:04:05"
time_zone = "Europe/Oslo"
duration_format = "h:mm:ss"
national_prefix = "+47"

[columns]
org_number = "Org.nr"
subscriber = "Abonnement"
start_time = ["Dato", "Tid"]
service = "Tjeneste"
charge = "Beløp"

[services]
"Tale" = "voice"
"SMS" = "sms"
`

func TestProfileParse(t *testing.T) {
	p, err := ParseProfile(strings.NewReader(goodProfile))
	if err != nil {
		t.Fatalf("ParseProfile: %v", err)
	}
	if p.sep != ';' || p.encoding != encLatin1 || p.decimal != ',' || p.thousands != " " || p.repeated != repeatEarlier ||
		!p.clockDuration || p.nationalPrefix != "+47" || len(p.sources[colStartTime]) != 2 || p.sources[colCostCentre] != nil {
		t.Errorf("ParseProfile read %+v", p)
	}
	minimal := "[columns]\norg_number='o'\nsubscriber='s'\nstart_time='t'\nservice='v'\ncharge='c'\n"
	if p, err := ParseProfile(strings.NewReader(minimal)); err != nil || p.format != formatCSV || p.sep != ',' || p.timeLayout != "" {
		t.Errorf("minimal profile: %+v, %v", p, err)
	}
}

func TestProfileRefused(t *testing.T) {
	cols := "[columns]\norg_number='o'\nsubscriber='s'\nstart_time='t'\nservice='v'\ncharge='c'\n"
	tests := []struct {
		name, profile, want string
	}{
		{"unknown key", "colour = 'red'\n" + cols, `unknown key(s) "colour"`},
		{"unknown table", cols + "[extra]\nx = 1\n", `unknown key(s) "extra", "extra.x"`},
		{"unknown field", cols + "b_number = 'Til nummer'\n", `"b_number" is not a kept field`},
		{"required missing", "[columns]\norg_number='o'\nsubscriber='s'\nstart_time='t'\nservice='v'\n", "required field charge is not mapped"},
		{"mapped twice", cols + "cost_centre = ' O '\n", "is mapped twice (to cost_centre and org_number)"},
		{"pair not for charge", strings.Replace(cols, "charge='c'", "charge=['c','d']", 1), "columns.charge must name one column"},
		{"three time columns", strings.Replace(cols, "start_time='t'", "start_time=['a','b','c']", 1), "columns.start_time must name one column, or two"},
		{"empty column", strings.Replace(cols, "charge='c'", "charge=''", 1), "columns.charge names an empty column"},
		{"number as column", strings.Replace(cols, "charge='c'", "charge=3", 1), "columns.charge must name one column"},
		{"bad separator", "separator = '\"'\n" + cols, "cannot separate fields"},
		{"long separator", "separator = ';;'\n" + cols, "is not one character"},
		{"letter separator", "separator = 'x'\n" + cols, "cannot separate fields"},
		{"separator for jsonl", "format = 'jsonl'\nseparator = ';'\n" + cols, "separator applies to format csv only"},
		{"unknown encoding", "encoding = 'ebcdic'\n" + cols, `encoding "ebcdic" is not utf-8`},
		{"latin-1 parquet", "format = 'parquet'\nencoding = 'latin-1'\n" + cols, "encoding of format parquet is always utf-8"},
		{"unknown format", "format = 'xlsx'\n" + cols, `format "xlsx" is not csv, jsonl or parquet`},
		{"decimal", "decimal_separator = ';'\n" + cols, "decimal_separator"},
		{"thousands is decimal", "decimal_separator = ','\nthousands_separator = ','\n" + cols, "thousands_separator is the decimal separator"},
		{"layout without zone", "time_layout = '02.01.2006 15:04'\n" + cols, "time_zone is required"},
		{"layout without hour", "time_layout = '02.01.2006'\ntime_zone = 'Europe/Oslo'\n" + cols, "does not hold a full date, hour and minute"},
		{"unknown zone", "time_layout = '02.01.2006 15:04'\ntime_zone = 'Europe/Atlantis'\n" + cols, `time_zone "Europe/Atlantis" is not a known zone`},
		{"zone with rfc3339", "time_zone = 'Europe/Oslo'\n" + cols, "RFC 3339 times carry their own"},
		{"zone with offset layout", "time_layout = '2006-01-02 15:04 -07:00'\ntime_zone = 'Europe/Oslo'\n" + cols, "this one has one"},
		{"abbreviation", "time_layout = '2006-01-02 15:04 MST'\n" + cols, "zone abbreviations"},
		{"repeated policy", "time_layout = '02.01.2006 15:04'\ntime_zone = 'Europe/Oslo'\nrepeated_hour = 'first'\n" + cols, `repeated_hour "first"`},
		{"service target", cols + "[services]\nTale = 'speech'\n", `services."Tale" = "speech" is not voice`},
		{"service twice", cols + "[services]\nTale = 'voice'\ntale = 'voice'\n", `"tale" is listed twice`},
		{"prefix", "national_prefix = '47'\n" + cols, "national_prefix"},
		{"duration", "duration_format = 'minutes'\n" + cols, "duration_format"},
		{"not toml", "[columns\n", "profile: toml"},
		{"wrong type", "separator = 1\n" + cols, "profile: toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProfile(strings.NewReader(tt.profile))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseProfile: got %v, want an error holding %q", err, tt.want)
			}
		})
	}
	// Every fault at once, not one per try.
	_, err := ParseProfile(strings.NewReader("colour = 1\nencoding = 'x'\n[columns]\norg_number = 'a'\n"))
	for _, want := range []string{"colour", "encoding", "subscriber is not mapped", "charge is not mapped"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseProfile: got %v, want it to name %q", err, want)
		}
	}
}

func TestProfileDecimalAmount(t *testing.T) {
	tests := []struct {
		in, dec, thousands, want string // want "" for a refusal
	}{
		{"1,25", ",", "", "1.25"},
		{" -12,5 ", ",", "", "-12.5"},
		{"+3", ",", "", "+3"},
		{"1 234,50", ",", " ", "1234.50"},
		{"1\u00a0234,50", ",", "\u00a0", "1234.50"},
		{"12 345 678,0001", ",", " ", "12345678.0001"},
		{"1.234,5", ",", ".", "1234.5"},
		{"1.234", ",", "", ""}, // a dot in a decimal-comma file is refused, not misread
		{"1,23456", ",", "", ""},
		{"1,", ",", "", ""},
		{",5", ",", "", ""},
		{"1 23,5", ",", " ", ""},
		{"1234 567,5", ",", " ", ""},
		{"1 234 ,5", ",", " ", ""},
		{"1,5,5", ",", "", ""},
		{"1e3", ",", "", ""},
		{"1.25", ".", "", "1.25"},
		{"1,234.25", ".", ",", "1234.25"},
		{"abc", ".", "", "abc"}, // CSV v1's form is passed on for the Validator to judge
	}
	for _, tt := range tests {
		got, ok := decimalAmount(nil, []byte(tt.in), tt.dec[0], tt.thousands)
		if (tt.want == "") != !ok || (ok && string(got) != tt.want) {
			t.Errorf("decimalAmount(%q, %q, %q) = %q, %v; want %q", tt.in, tt.dec, tt.thousands, got, ok, tt.want)
		}
	}
}

func mustOslo(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// wallOf is a wall clock time written as if it were UTC seconds.
func wallOf(y int, m time.Month, d, h, min int) int64 {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC).Unix()
}

func TestProfileLocalTime(t *testing.T) {
	loc := mustOslo(t)
	utc := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	tests := []struct {
		name   string
		wall   int64
		policy string
		want   int64
		err    error
	}{
		{"winter", wallOf(2026, 1, 15, 12, 0), repeatEarlier, utc("2026-01-15T11:00:00Z"), nil},
		{"summer", wallOf(2026, 7, 1, 12, 0), repeatEarlier, utc("2026-07-01T10:00:00Z"), nil},
		{"before the skipped hour", wallOf(2026, 3, 29, 1, 59), repeatEarlier, utc("2026-03-29T00:59:00Z"), nil},
		{"skipped hour start", wallOf(2026, 3, 29, 2, 0), repeatEarlier, 0, ErrTimeSkipped},
		{"skipped hour", wallOf(2026, 3, 29, 2, 30), repeatLater, 0, ErrTimeSkipped},
		{"after the skipped hour", wallOf(2026, 3, 29, 3, 0), repeatEarlier, utc("2026-03-29T01:00:00Z"), nil},
		{"before the repeated hour", wallOf(2026, 10, 25, 1, 59), repeatReject, utc("2026-10-24T23:59:00Z"), nil},
		{"repeated hour, earlier", wallOf(2026, 10, 25, 2, 30), repeatEarlier, utc("2026-10-25T00:30:00Z"), nil},
		{"repeated hour, later", wallOf(2026, 10, 25, 2, 30), repeatLater, utc("2026-10-25T01:30:00Z"), nil},
		{"repeated hour, rejected", wallOf(2026, 10, 25, 2, 0), repeatReject, 0, ErrTimeRepeated},
		{"after the repeated hour", wallOf(2026, 10, 25, 3, 0), repeatReject, utc("2026-10-25T02:00:00Z"), nil},
		{"new year", wallOf(2027, 1, 1, 0, 30), repeatEarlier, utc("2026-12-31T23:30:00Z"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveWall(tt.wall, loc, tt.policy)
			if err != tt.err || (err == nil && got != tt.want) {
				t.Errorf("resolveWall = %v, %v; want %v, %v", time.Unix(got, 0).UTC(), err, time.Unix(tt.want, 0).UTC(), tt.err)
			}
		})
	}
}

// The repeated hour on 2026-10-25 lies inside October either way: the
// month, all that a record keeps, does not depend on the policy.
func TestProfileRepeatedHourMonth(t *testing.T) {
	o, err := NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	loc := mustOslo(t)
	for _, policy := range []string{repeatEarlier, repeatLater} {
		u, err := resolveWall(wallOf(2026, 10, 25, 2, 15), loc, policy)
		if err != nil {
			t.Fatal(err)
		}
		if m := o.Month(u); m.String() != "2026-10" {
			t.Errorf("%s: month %v", policy, m)
		}
	}
}

func FuzzProfileParse(f *testing.F) {
	f.Add(goodProfile)
	f.Add("[columns]\norg_number='o'\nsubscriber='s'\nstart_time=['d','t']\nservice='v'\ncharge='c'\n")
	f.Add("format='jsonl'\ntime_layout='2006-01-02T15:04:05Z07:00'\n[columns]\ncharge='c'")
	f.Add("separator='\\t'\n[services]\n'x'='voice'\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProfile(strings.NewReader(s))
		if err != nil {
			return
		}
		for c, req := range required {
			if req && len(p.sources[c]) == 0 {
				t.Fatalf("profile accepted without %s", colNames[c])
			}
		}
		if p.timeLayout != "" && !p.layoutOff && p.loc == nil {
			t.Fatalf("wall-clock layout accepted without a zone")
		}
		_ = p.Describe()
	})
}

// FuzzProfileDecimalAmount checks that an accepted amount means what its
// text says: the same rational number as the text read by hand.
func FuzzProfileDecimalAmount(f *testing.F) {
	for _, s := range []string{"1,25", "1 234,5", "-0,0001", "1.234", "12,34567", "+ 1", "1  234"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, comma bool) {
		dec, thousands := byte('.'), ","
		if comma {
			dec, thousands = ',', " "
		}
		out, ok := decimalAmount(nil, []byte(s), dec, thousands)
		if !ok {
			return
		}
		// The reference: drop the thousands separators, read the decimal
		// separator as a point.
		ref := strings.ReplaceAll(strings.TrimSpace(s), thousands, "")
		ref = strings.Replace(ref, string(dec), ".", 1)
		want, okRef := new(big.Rat).SetString(ref)
		got, okGot := new(big.Rat).SetString(string(out))
		if !okRef || !okGot || want.Cmp(got) != 0 {
			t.Fatalf("decimalAmount(%q) = %q, which is not %q", s, out, ref)
		}
		if i := strings.IndexByte(string(out), '.'); i >= 0 && len(out)-i-1 > 4 {
			t.Fatalf("decimalAmount(%q) = %q: more than 4 decimals", s, out)
		}
	})
}

// FuzzProfileLocalTime checks every wall clock time around both of 2026's
// transitions against the zone database: an accepted time shows the wall
// clock it was read from, a skipped one is one no instant shows, and the
// repeated hour's two readings are an hour apart.
func FuzzProfileLocalTime(f *testing.F) {
	f.Add(int64(wallOf(2026, 10, 25, 2, 30)), uint8(0))
	f.Add(int64(wallOf(2026, 3, 29, 2, 30)), uint8(1))
	f.Add(int64(wallOf(2026, 10, 25, 1, 59)), uint8(2))
	f.Add(int64(wallOf(2026, 3, 29, 3, 0)), uint8(0))
	loc := mustOslo(f)
	policies := []string{repeatEarlier, repeatLater, repeatReject}
	f.Fuzz(func(t *testing.T, wall int64, pol uint8) {
		wall = wallOf(2026, 1, 1, 0, 0) + (wall%(400*86400)+400*86400)%(400*86400)
		policy := policies[int(pol)%3]
		u, err := resolveWall(wall, loc, policy)
		shows := func(u int64) bool {
			lt := time.Unix(u, 0).In(loc)
			return time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), lt.Second(), 0, time.UTC).Unix() == wall
		}
		switch err {
		case nil:
			if !shows(u) {
				t.Fatalf("%v read as %v, which Oslo shows as %v", time.Unix(wall, 0).UTC(), time.Unix(u, 0).UTC(), time.Unix(u, 0).In(loc))
			}
			other := u + 3600
			if policy == repeatLater {
				other = u - 3600
			}
			if shows(other) && policy == repeatReject {
				t.Fatalf("%v is repeated but was not rejected", time.Unix(wall, 0).UTC())
			}
		case ErrTimeSkipped:
			for d := int64(-3 * 3600); d <= 3*3600; d += 60 {
				if shows(wall + d) {
					t.Fatalf("%v rejected as skipped, but %v shows it", time.Unix(wall, 0).UTC(), time.Unix(wall+d, 0).UTC())
				}
			}
		case ErrTimeRepeated:
			if policy != repeatReject {
				t.Fatalf("ErrTimeRepeated with policy %s", policy)
			}
			n := 0
			for d := int64(-3 * 3600); d <= 3*3600; d++ {
				if shows(wall + d) {
					n++
				}
			}
			if n != 2 {
				t.Fatalf("%v rejected as repeated, shown %d times", time.Unix(wall, 0).UTC(), n)
			}
		default:
			t.Fatal(err)
		}
		if b, ok := appendRFC3339Z(nil, u); err == nil && ok {
			if tm, perr := time.Parse(time.RFC3339, string(b)); perr != nil || tm.Unix() != u {
				t.Fatalf("appendRFC3339Z(%d) = %s", u, b)
			}
		}
	})
}
