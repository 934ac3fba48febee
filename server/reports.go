package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	ur "usagereport"
	"usagereport/export"
)

// The report formats, by index.
const (
	formatXLSX = iota
	formatParquet
	numFormats
)

var (
	formatExts  = [numFormats]string{"xlsx", "parquet"}
	formatTypes = [numFormats]string{
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.apache.parquet",
	}
)

// reportName is the whole of a valid {name} in /v1/reports/{name}: four
// digits, a dash, two digits, a known extension. Nothing else gets near
// a path.
var reportName = regexp.MustCompile(`^([0-9]{4}-[0-9]{2})\.(xlsx|parquet)$`)

// parseReportName parses "YYYY-MM.ext". The month must be a real one and
// written canonically (ParseMonth alone would take neither 2026-13 nor
// 2026-1, and the regexp no 02026-10; the round trip makes sure).
func parseReportName(name string) (ur.Month, int, bool) {
	sm := reportName.FindStringSubmatch(name)
	if sm == nil {
		return 0, 0, false
	}
	m, err := ur.ParseMonth(sm[1])
	if err != nil || m.String() != sm[1] {
		return 0, 0, false
	}
	return m, slices.Index(formatExts[:], sm[2]), true
}

// reportFile is one file in the listing.
type reportFile struct {
	Format  string    `json:"format"`
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	URL     string    `json:"url"`
}

type reportMonth struct {
	Month string       `json:"month"`
	Files []reportFile `json:"files"`
}

type reportList struct {
	Org     string        `json:"org"`
	Reports []reportMonth `json:"reports"`
}

// list lists org's reports, newest month first. Files are found by reading
// the organisation's folder (built by export.Path from the org alone) and
// keeping only names that export.Path gives for a parsed month.
//
// The folder must be a plain folder inside the reports folder, as a report
// must be a plain file: a symbolic link, whether out of the reports folder
// (which os.Root refuses) or into another organisation's folder (which it
// would follow), lists as no reports, the same answer as a missing folder,
// and is logged for the operator. Downloads answer such a link 404.
func (s *Server) list(org ur.Org) (reportList, error) {
	out := reportList{Org: org.String(), Reports: []reportMonth{}}
	dir := filepath.Dir(export.Path("", org, 0, formatExts[0]))
	li, err := s.root.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if !li.IsDir() {
		s.cfg.Logger.Warn("organisation folder is not a plain folder; listed as empty",
			slog.String(attrOrg, org.String()), slog.String("mode", li.Mode().Type().String()))
		return out, nil
	}
	f, err := s.root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	defer f.Close()
	// Replaced by a link between the Lstat and the Open: the same answer.
	if fi, err := f.Stat(); err != nil || !os.SameFile(fi, li) {
		s.cfg.Logger.Warn("organisation folder changed while listed; listed as empty", slog.String(attrOrg, org.String()))
		return out, nil
	}
	entries, err := f.ReadDir(-1)
	if err != nil {
		return out, err
	}
	byMonth := map[ur.Month][]reportFile{}
	prefix := org.String() + "-"
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		m, format, ok := parseReportName(rest)
		if !ok || filepath.Base(export.Path("", org, m, formatExts[format])) != e.Name() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // replaced or removed since ReadDir
		}
		byMonth[m] = append(byMonth[m], reportFile{
			Format: formatExts[format], Name: e.Name(), Size: fi.Size(),
			Created: fi.ModTime().UTC().Truncate(time.Second),
			URL:     "/v1/reports/" + rest,
		})
	}
	for m, files := range byMonth {
		slices.SortFunc(files, func(a, b reportFile) int { return strings.Compare(a.Format, b.Format) })
		out.Reports = append(out.Reports, reportMonth{Month: m.String(), Files: files})
	}
	slices.SortFunc(out.Reports, func(a, b reportMonth) int { return strings.Compare(b.Month, a.Month) })
	return out, nil
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	l, err := s.list(tok.Org)
	if err != nil {
		s.internalError(w, "list reports", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(l)
}

// handleDownload streams one report with http.ServeContent, which answers
// HEAD, Range, If-Range, If-None-Match and If-Modified-Since.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	ev := ur.AuditEvent{Time: s.cfg.Now(), Org: tok.Org, Remote: remoteIP(r)}
	m, format, ok := parseReportName(r.PathValue("name"))
	if !ok {
		ev.Outcome = ur.OutcomeNotFound
		s.appendAudit(r, ev)
		notFound(w)
		return
	}
	rel := export.Path("", tok.Org, m, formatExts[format])
	ev.Report = filepath.Base(rel)
	f, err := s.root.Open(rel)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.cfg.Logger.Warn("open report", slog.String(attrOrg, tok.Org.String()), slog.String(attrMonth, m.String()), slog.Any(attrError, err))
		}
		ev.Outcome = ur.OutcomeNotFound
		s.appendAudit(r, ev)
		notFound(w)
		return
	}
	defer f.Close()
	// Only a regular file in the organisation's own folder: os.Root would
	// follow a symbolic link that stays inside the reports folder, and one
	// into another organisation's folder is as wrong as one out of it.
	fi, err := f.Stat()
	li, lerr := s.root.Lstat(rel)
	if err != nil || lerr != nil || !fi.Mode().IsRegular() || !os.SameFile(fi, li) {
		ev.Outcome = ur.OutcomeNotFound
		s.appendAudit(r, ev)
		notFound(w)
		return
	}
	h := w.Header()
	h.Set("Content-Type", formatTypes[format])
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, ev.Report))
	// Reports are replaced only by an atomic rename, so size and
	// modification time (in nanoseconds) change with the content: a strong
	// validator, as If-Range needs, without hashing megabytes per request.
	h.Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	// no-store: a report is the organisation's confidential data, and a
	// browser must not keep a copy on disk (no-cache would let it, asking
	// only to revalidate). Conditional and Range requests still work.
	h.Set("Cache-Control", "no-store")
	sw := &statusWriter{ResponseWriter: w}
	http.ServeContent(sw, r, ev.Report, fi.ModTime(), f)

	switch code := sw.code(); {
	case r.Method == http.MethodHead:
		ev.Outcome = fmt.Sprintf("status %d (HEAD)", code)
	case code == http.StatusOK && sw.bytes < fi.Size():
		ev.Outcome = "interrupted" // the client went away
	case code == http.StatusOK || code == http.StatusPartialContent:
		ev.Outcome = ur.OutcomeDownloaded
		s.metrics.downloads[format].Add(1)
	case code == http.StatusNotModified:
		ev.Outcome = ur.OutcomeNotModified
	default:
		ev.Outcome = fmt.Sprintf("status %d", code)
	}
	s.metrics.downloadBytes.Add(uint64(sw.bytes))
	s.appendAudit(r, ev)
}

// appendAudit writes ev to the audit log. A failure is logged, not shown:
// the response has gone out already. The write outlives the request's
// context: a client that hangs up must not take its record with it.
func (s *Server) appendAudit(r *http.Request, ev ur.AuditEvent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := s.audit.AppendAudit(ctx, ev); err != nil {
		s.cfg.Logger.Error("audit log", slog.Any(attrError, err))
	}
}
