package export

import (
	"fmt"
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
}

func (ed Edition) versionText() string {
	if ed.Version <= 1 {
		return "Version 1 (the first publication of this month)"
	}
	return fmt.Sprintf("Version %d (a correction; it replaces versions 1 to %d)", ed.Version, ed.Version-1)
}
