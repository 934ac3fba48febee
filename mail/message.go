package mail

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	ur "usagereport"
	"usagereport/export"
)

// Content types of the attachments.
const (
	typeXLSX    = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	typeParquet = "application/vnd.apache.parquet"
)

var monthsNO = [...]string{"januar", "februar", "mars", "april", "mai", "juni", "juli",
	"august", "september", "oktober", "november", "desember"}

// report is one organisation's files of a month, read once per delivery so
// that every attempt sends the same bytes.
type report struct {
	org   ur.OrgInfo
	month ur.Month
	files []reportFile
}

type reportFile struct {
	name, contentType string
	data              []byte // nil when over the limit: linked instead
	link              string
}

// readReport reads the files to send: the workbook always, Parquet when
// the organisation wants it. A file over the size limit is replaced by a
// link, or refused when no download server is configured.
func (s *Sender) readReport(dir string, org ur.OrgInfo, m ur.Month) (*report, error) {
	r := &report{org: org, month: m}
	exts := []string{"xlsx"}
	if s.cfg.attachParquet(org.Org) {
		exts = append(exts, "parquet")
	}
	for _, ext := range exts {
		path := export.Path(dir, org.Org, m, ext)
		f := reportFile{name: filepath.Base(path), contentType: typeXLSX}
		if ext == "parquet" {
			f.contentType = typeParquet
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("report %s: %w", f.name, err)
		}
		if fi.Size() > s.cfg.MaxAttachment {
			if s.cfg.DownloadURL == "" {
				return nil, fmt.Errorf("report %s is %d bytes, over the attachment limit of %d, and no download server URL is configured for a link",
					f.name, fi.Size(), s.cfg.MaxAttachment)
			}
			// The report server names a report by month and format; the
			// organisation comes from the reader's token.
			f.link = strings.TrimRight(s.cfg.DownloadURL, "/") + "/v1/reports/" + m.String() + "." + ext
		} else if f.data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("report %s: %w", f.name, err)
		}
		r.files = append(r.files, f)
	}
	return r, nil
}

// newMessageID returns a Message-ID (without the angle brackets) in the
// sender's domain. It names the organisation and month, never the
// recipient, so that it may appear in logs.
func (s *Sender) newMessageID(org ur.Org, m ur.Month) string {
	var b [12]byte
	rand.Read(b[:])
	domain := "localhost"
	if a, err := mail.ParseAddress(s.cfg.From); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			domain = d
		}
	}
	return fmt.Sprintf("usagereport.%s.%s.%s@%s", org, m, hex.EncodeToString(b[:]), domain)
}

// stamp is what fixes a message's bytes besides the report and recipient:
// kept in the ledger from the first attempt on.
type stamp struct {
	id   string    // Message-ID, without angle brackets
	date time.Time // the Date header, whole seconds, UTC
}

// boundary derives the MIME boundary from the Message-ID, so that the same
// stamp always gives the same bytes (go-mail would pick a random one).
func boundary(messageID string) string {
	sum := sha256.Sum256([]byte("usagereport boundary\x00" + messageID))
	return "ur-" + hex.EncodeToString(sum[:20])
}

// build builds the message of r to one recipient and renders it: the
// same report, recipient and stamp give the same bytes, in any process.
// It returns the message and the SHA-256 (hex) of its bytes.
func (s *Sender) build(r *report, to string, st stamp) (*gomail.Msg, string, error) {
	msg, err := s.message(r, to, st.id, st.date)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	if _, err := msg.WriteTo(h); err != nil {
		return nil, "", fmt.Errorf("render the message: %w", err)
	}
	return msg, hex.EncodeToString(h.Sum(nil)), nil
}

// message builds the message of r to one recipient.
func (s *Sender) message(r *report, to, messageID string, date time.Time) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithBoundary(boundary(messageID)))
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("sender address: %w", err)
	}
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("recipient address: %w", err)
	}
	msg.SetMessageIDWithValue(messageID)
	msg.SetDateWithValue(date)
	msg.SetBulk() // no out-of-office replies to an automatic report
	name := r.org.Name
	if name == "" {
		name = r.org.Org.String()
	}
	no := fmt.Sprintf("%s %d", monthsNO[r.month.Month()-1], r.month.Year())
	en := fmt.Sprintf("%s %d", r.month.Month(), r.month.Year())
	msg.Subject(fmt.Sprintf("Bruksrapport %s – %s / Usage report %s – %s", no, name, en, name))
	msg.SetBodyString(gomail.TypeTextPlain, body(r, name, no, en))
	for _, f := range r.files {
		if f.data == nil {
			continue
		}
		err := msg.AttachReader(f.name, bytes.NewReader(f.data), gomail.WithFileContentType(gomail.ContentType(f.contentType)))
		if err != nil {
			return nil, fmt.Errorf("attach %s: %w", f.name, err)
		}
	}
	return msg, nil
}

// bodyText is the message body's words in one language.
type bodyText struct {
	intro    string // with the organisation's name, its number and the month
	summary  string
	attached string // with the file's name
	tooLarge string // with the file's name and its link
	closing  string
}

// bodyTexts are the body's languages in the order it shows them:
// Norwegian, then English.
var bodyTexts = [...]bodyText{{
	intro:    "Hei,\n\nher er bruksrapporten for %s (org.nr. %s) for %s.\n",
	summary:  "Rapporten viser bare sammendrag: ingen enkeltpersoner og ingen grupper så små at en ansatt kan kjennes igjen.\n",
	attached: "Vedlegg: %s\n",
	tooLarge: "%s er for stor til å sendes som vedlegg. Last den ned her (med organisasjonens tilgangsnøkkel): %s\n",
	closing:  "\nDenne e-posten er sendt automatisk.\n",
}, {
	intro:    "Hello,\n\nhere is the usage report of %s (organisation number %s) for %s.\n",
	summary:  "The report shows aggregates only: no individuals, and no group small enough to single out an employee.\n",
	attached: "Attached: %s\n",
	tooLarge: "%s is too large to attach. Download it here (with your organisation's access token): %s\n",
	closing:  "\nThis message was sent automatically.\n",
}}

// body is the message's text: each language in turn, the month named as
// months[i] says it, separated by a signature line.
func body(r *report, name string, months ...string) string {
	var b strings.Builder
	for i, t := range bodyTexts {
		if i > 0 {
			b.WriteString("\n-- \n\n")
		}
		fmt.Fprintf(&b, t.intro, name, r.org.Org, months[i])
		b.WriteString(t.summary)
		for _, f := range r.files {
			if f.data != nil {
				fmt.Fprintf(&b, t.attached, f.name)
			} else {
				fmt.Fprintf(&b, t.tooLarge, f.name, f.link)
			}
		}
		b.WriteString(t.closing)
	}
	return b.String()
}
