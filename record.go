package usagereport

import "fmt"

// Record is one usage event after the ingest boundary: only the kept fields of
// CSV v1, with the subscriber replaced by its pseudonym and the start time
// reduced to its Europe/Oslo month.
type Record struct {
	Org         Org
	Month       Month
	Subscriber  Pseudonym
	CostCentre  string // "" means unassigned
	Service     Service
	Zone        Zone
	DurationS   int64
	VolumeBytes int64
	Charge      Amount
}

// Pseudonym is the keyed pseudonym of a subscription: HMAC-SHA256 of the
// E.164 number under the store's key, truncated to 128 bits.
type Pseudonym [16]byte

// Unassigned is how a record without a cost centre is reported.
const Unassigned = "(unassigned)"

// Service is the kind of usage.
type Service uint8

// The services, in report order.
const (
	Voice Service = iota
	SMS
	MMS
	Data
	NumServices = 4
)

var serviceNames = [NumServices]string{"voice", "sms", "mms", "data"}

func (s Service) String() string {
	if s < NumServices {
		return serviceNames[s]
	}
	return fmt.Sprintf("Service(%d)", uint8(s))
}

// ParseService reads a service name in any case.
func ParseService(b []byte) (Service, bool) {
	for i, n := range serviceNames {
		if len(b) == len(n) && equalFoldLower(b, n) {
			return Service(i), true
		}
	}
	return 0, false
}

// equalFoldLower is strings.EqualFold(string(b), name) for a name of
// lower-case ASCII letters as long as b. A rune outside ASCII would make
// b longer than name, or is a byte that folds to no letter: only ASCII
// letters in either case can match.
func equalFoldLower(b []byte, name string) bool {
	for i := range len(name) {
		if b[i]|0x20 != name[i] {
			return false
		}
	}
	return true
}

// Zone is the roaming zone of the visited network.
type Zone uint8

// The roaming zones, in report order.
const (
	Domestic Zone = iota
	EUEEA
	World
	NumZones = 3
)

var zoneNames = [NumZones]string{"domestic", "eu_eea", "world"}

func (z Zone) String() string {
	if z < NumZones {
		return zoneNames[z]
	}
	return fmt.Sprintf("Zone(%d)", uint8(z))
}

// ParseZoneName reads a zone name as String writes it.
func ParseZoneName(s string) (Zone, bool) {
	for i, n := range zoneNames {
		if s == n {
			return Zone(i), true
		}
	}
	return 0, false
}

// eueea lists the 27 EU states plus Iceland and Liechtenstein. Norway is
// domestic. Greece is EL in EU usage and GR in ISO 3166-1; both are accepted.
const eueea = "AT BE BG HR CY CZ DK EE FI FR DE GR EL HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI"

// ZoneOf maps an ISO 3166-1 alpha-2 code (or empty, for home) to its roaming
// zone. It reports false for a value that is not two ASCII letters.
func ZoneOf(country []byte) (Zone, bool) {
	if len(country) == 0 {
		return Domestic, true
	}
	if len(country) != 2 || !isLetter(country[0]) || !isLetter(country[1]) {
		return 0, false
	}
	c := [2]byte{country[0] &^ 0x20, country[1] &^ 0x20} // upper case
	if c == [2]byte{'N', 'O'} {
		return Domestic, true
	}
	for i := 0; i+1 < len(eueea); i += 3 {
		if eueea[i] == c[0] && eueea[i+1] == c[1] {
			return EUEEA, true
		}
	}
	return World, true
}

func isLetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }
