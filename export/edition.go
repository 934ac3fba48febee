package export

import (
	"fmt"
	"strings"
	"time"
)

// Metadata keys of a report file's publication.
const (
	// MetaPublicationVersion is the version of the month's publication
	// the file is: 1, or 2, 3, … after a deliberate correction.
	MetaPublicationVersion = "publication_version"
	// MetaLateEvents is how many events from earlier, already published
	// months the organisation's cells include.
	MetaLateEvents = "events_from_earlier_months"
)

// Edition says which publication of an organisation's month a report file
// is. Files written from the same publication record are the same bytes:
// every part of them comes from the record, the time included.
type Edition struct {
	CreatedAt  time.Time // when the month was published
	Version    int       // 1 unless corrected
	LateEvents int64     // events from earlier months in the totals
	// OrgName is the organisation's name from the registry (`org add --name`),
	// shown in the workbook's title, page header and document properties; ""
	// when the registry has none, and then the number alone is shown. It is
	// not part of the publication record: a month written again shows the
	// name the registry has then, with the same cells.
	OrgName string
}

// maxOrgNameRunes bounds the name in titles and page headers (Excel allows
// 255 characters for a whole header).
const maxOrgNameRunes = 80

// orgHeading is orgTitle where the number alone would be unclear: "Name (number)",
// or "Organisation number".
func orgHeading(org fmt.Stringer, name string) string {
	if t := orgTitle(org, name); t != org.String() {
		return t
	}
	return "Organisation " + org.String()
}

// orgTitle returns "Name (number)", or the number alone without a name.
func orgTitle(org fmt.Stringer, name string) string {
	name = strings.Join(strings.Fields(name), " ") // no line breaks in a title
	if name == "" {
		return org.String()
	}
	if r := []rune(name); len(r) > maxOrgNameRunes {
		name = string(r[:maxOrgNameRunes-1]) + "…"
	}
	return name + " (" + org.String() + ")"
}

func (ed Edition) versionText() string {
	if ed.Version <= 1 {
		return "Version 1 (the first publication of this month)"
	}
	return fmt.Sprintf("Version %d (a correction; it replaces versions 1 to %d)", ed.Version, ed.Version-1)
}
