package export

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestXLSXLibreOfficePDF prints workbooks to PDF with LibreOffice, as a reader
// without Excel would, and checks the text as laid out on the pages, word by word
// (pdftotext -bbox): no word overlaps another (About rows ran into each other when
// LibreOffice kept the default row height for wrapped text), every word lies on its
// page, every word of the About sheet is printed (the end of a tall paragraph was cut
// off), the page header names the organisation, and the total charge is there.
// It needs LibreOffice (Debian's libreoffice-calc-nogui) and pdftotext (poppler-utils),
// which scripts/test installs through scripts/ensure-libreoffice; without them it
// prints a NOTICE and skips.
func TestXLSXLibreOfficePDF(t *testing.T) {
	office, err := exec.LookPath("libreoffice")
	if err != nil {
		office, err = exec.LookPath("soffice")
	}
	if err != nil {
		fmt.Println("NOTICE: TestXLSXLibreOfficePDF skipped: libreoffice is not on PATH (scripts/ensure-libreoffice installs it)")
		t.Skip("libreoffice is not on PATH")
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		fmt.Println("NOTICE: TestXLSXLibreOfficePDF skipped: pdftotext is not on PATH (scripts/ensure-libreoffice installs poppler-utils)")
		t.Skip("pdftotext is not on PATH")
	}
	c, history := smallCubes(t)
	tests := []struct {
		name    string
		orgName string
		history bool
	}{
		{"named, with history", "Fjord & Fjell Entreprenør AS", true},
		{"no name", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			h := history
			if !tt.history {
				h = nil
			}
			var buf bytes.Buffer
			if err := WriteXLSXEdition(&buf, c, h, Edition{CreatedAt: testCreated, Version: 1, OrgName: tt.orgName}); err != nil {
				t.Fatal(err)
			}
			xlsx := filepath.Join(dir, "report.xlsx")
			if err := os.WriteFile(xlsx, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(office, "--headless", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
				"--convert-to", "pdf", "--outdir", dir, xlsx)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", office, err, out)
			}
			out, err := exec.Command(pdftotext, "-bbox", filepath.Join(dir, "report.pdf"), "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			pages := parseBBox(t, string(out))
			checkNoOverlap(t, pages)
			printed := map[string]int{}
			var all strings.Builder
			for _, p := range pages {
				for _, w := range p.words {
					printed[w.text]++
					all.WriteString(w.text + " ")
				}
			}
			checkAboutPrinted(t, buf.Bytes(), printed)

			if want := orgHeading(c.Org, tt.orgName); !strings.Contains(all.String(), want) {
				t.Errorf("no page header names %q", want)
			}
			rows, _ := parquetReport(t, c)
			want := formatted(float64(*rows[cellKey{}].Charge)/10_000, "#,##0.00")
			if printed[want] == 0 {
				t.Errorf("PDF text has no total charge %s", want)
			}
		})
	}
}

type pdfWord struct {
	text                   string
	xMin, yMin, xMax, yMax float64
}

type pdfPage struct {
	width, height float64
	words         []pdfWord
}

var (
	bboxPageRE = regexp.MustCompile(`<page width="([0-9.]+)" height="([0-9.]+)">`)
	bboxWordRE = regexp.MustCompile(`<word xMin="([0-9.-]+)" yMin="([0-9.-]+)" xMax="([0-9.-]+)" yMax="([0-9.-]+)">([^<]*)</word>`)
)

// parseBBox reads pdftotext -bbox output: pages with their words' boxes.
func parseBBox(t *testing.T, s string) []pdfPage {
	t.Helper()
	var pages []pdfPage
	for _, chunk := range strings.Split(s, "<page ")[1:] {
		m := bboxPageRE.FindStringSubmatch("<page " + chunk)
		if m == nil {
			t.Fatalf("pdftotext -bbox: a page without size: %.200s", chunk)
		}
		p := pdfPage{width: num(t, m[1]), height: num(t, m[2])}
		for _, w := range bboxWordRE.FindAllStringSubmatch(chunk, -1) {
			p.words = append(p.words, pdfWord{html.UnescapeString(w[5]), num(t, w[1]), num(t, w[2]), num(t, w[3]), num(t, w[4])})
		}
		pages = append(pages, p)
	}
	if len(pages) == 0 {
		t.Fatal("pdftotext -bbox found no pages")
	}
	return pages
}

func num(t *testing.T, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkNoOverlap fails for a word outside its page and for two words whose boxes
// overlap by more than a quarter of the smaller one (touching neighbours on a line,
// or a descender reaching the next line's box, are not overlaps).
func checkNoOverlap(t *testing.T, pages []pdfPage) {
	t.Helper()
	for n, p := range pages {
		for i, a := range p.words {
			if a.xMin < 0 || a.yMin < 0 || a.xMax > p.width || a.yMax > p.height {
				t.Errorf("page %d: %q at (%.0f,%.0f)-(%.0f,%.0f) lies off the %.0f×%.0f page",
					n+1, a.text, a.xMin, a.yMin, a.xMax, a.yMax, p.width, p.height)
			}
			for _, b := range p.words[i+1:] {
				w := min(a.xMax, b.xMax) - max(a.xMin, b.xMin)
				h := min(a.yMax, b.yMax) - max(a.yMin, b.yMin)
				if w <= 0 || h <= 0 {
					continue
				}
				small := min((a.xMax-a.xMin)*(a.yMax-a.yMin), (b.xMax-b.xMin)*(b.yMax-b.yMin))
				if w*h > small/4 {
					t.Errorf("page %d: %q at (%.0f,%.0f) overlaps %q at (%.0f,%.0f)",
						n+1, a.text, a.xMin, a.yMin, b.text, b.xMin, b.yMin)
				}
			}
		}
	}
}

// checkAboutPrinted fails for each word of the About sheet's texts that the PDF
// prints fewer times than the sheet holds it: text cut off by its row.
func checkAboutPrinted(t *testing.T, xlsx []byte, printed map[string]int) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(SheetAbout)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, row := range rows {
		for _, cell := range row {
			for _, w := range strings.Fields(cell) {
				want[w]++
			}
		}
	}
	var missing []string
	for w, n := range want {
		if printed[w] < n {
			missing = append(missing, fmt.Sprintf("%q (%d of %d)", w, printed[w], n))
		}
	}
	if len(missing) > 0 {
		t.Errorf("the PDF lacks words of the About sheet, cut off: %s", strings.Join(missing, ", "))
	}
}
