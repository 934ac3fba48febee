package export

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
)

// zipWriter writes the workbook's parts to a zip on the caller's writer.
//
// Every part is compressed into memory and then written whole, so that
// parts that are the same in every workbook (the theme, the styles, the
// package relationships: see constParts) are compressed once per process,
// not once per workbook.
//
// It puts the content types part in a fixed order: excelize adds the
// image types of a chart from a map, in random order, and a report's parts
// should be the same bytes for the same report and time.
//
// excelize also writes its streamed sheets first, from a map, in random
// order. Those parts are held, compressed, and written in name order once
// the first other part comes: the same report is the same bytes, whenever
// and wherever it is written again from its publication record. That holds
// the matrix sheets' compressed bytes (a tenth of their XML) until then.
type zipWriter struct {
	zw      *zip.Writer
	own     map[string][]byte // parts written in place of excelize's, by name
	pending *part             // the part being written, until the next Create or Close
	held    []*part           // streamed sheets, until the first other part
	passed  bool              // the first other part came
}

// part is one part of the zip as it is written: its bytes, uncompressed
// (raw) or compressed as they come (fw into buf).
type part struct {
	name string
	raw  bytes.Buffer // a part that may be one of constParts, or the content types
	buf  bytes.Buffer // compressed
	fw   *flate.Writer
	crc  uint32
	size uint64
}

// newZipWriter returns a zip writer onto w that writes the parts in own
// in place of excelize's parts of the same names.
func newZipWriter(w io.Writer, own map[string][]byte) *zipWriter {
	return &zipWriter{zw: zip.NewWriter(w), own: own}
}

func (p *part) Write(b []byte) (int, error) {
	if p.fw == nil {
		return p.raw.Write(b)
	}
	p.crc = crc32.Update(p.crc, crc32.IEEETable, b)
	p.size += uint64(len(b))
	return p.fw.Write(b)
}

// compress starts compressing the part as it is written.
func (p *part) compress() {
	p.fw = getFlate(&p.buf)
}

// close ends the compressed stream.
func (p *part) close() error {
	err := p.fw.Close()
	fastFlate.Put(p.fw)
	p.fw = nil
	return err
}

func (z *zipWriter) Create(name string) (io.Writer, error) {
	own, isOwn := z.own[name]
	if !z.passed && strings.HasPrefix(name, "xl/worksheets/sheet") {
		p := &part{name: name}
		p.compress()
		z.held = append(z.held, p)
		if isOwn {
			p.Write(own)
			return io.Discard, nil
		}
		return p, nil
	}
	if err := z.finish(); err != nil {
		return nil, err
	}
	p := &part{name: name}
	if name != contentTypesPart && !constParts.has(name) {
		p.compress()
	}
	z.pending = p
	if isOwn {
		p.Write(own)
		return io.Discard, nil
	}
	return p, nil
}

// AddFS is part of excelize's ZipWriter; excelize does not call it.
func (z *zipWriter) AddFS(fsys fs.FS) error {
	if err := z.finish(); err != nil {
		return err
	}
	return z.zw.AddFS(fsys)
}

func (z *zipWriter) Close() error {
	if err := z.finish(); err != nil {
		return err
	}
	return z.zw.Close()
}

// finish writes the held parts, if not yet written, and the pending part.
func (z *zipWriter) finish() error {
	if !z.passed {
		z.passed = true
		slices.SortFunc(z.held, func(a, b *part) int { return strings.Compare(a.name, b.name) })
		for _, h := range z.held {
			if err := h.close(); err != nil {
				return err
			}
			if err := z.writeRaw(h.name, h.crc, h.size, h.buf.Bytes()); err != nil {
				return err
			}
		}
		z.held = nil
	}
	p := z.pending
	if p == nil {
		return nil
	}
	z.pending = nil
	if p.fw != nil {
		if err := p.close(); err != nil {
			return err
		}
		return z.writeRaw(p.name, p.crc, p.size, p.buf.Bytes())
	}
	raw := p.raw.Bytes()
	if p.name == contentTypesPart {
		raw = sortDefaultTypes(raw)
	}
	c := constParts.get(p.name, raw)
	return z.writeRaw(p.name, c.crc, uint64(len(raw)), c.compressed)
}

func (z *zipWriter) writeRaw(name string, crc uint32, size uint64, compressed []byte) error {
	w, err := z.zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(compressed)), UncompressedSize64: size})
	if err != nil {
		return err
	}
	_, err = w.Write(compressed)
	return err
}

const contentTypesPart = "[Content_Types].xml"

var defaultTypeRE = regexp.MustCompile(`<Default [^>]*>(</Default>)?`)

// sortDefaultTypes puts the content types' Default elements in order.
func sortDefaultTypes(b []byte) []byte {
	defaults := defaultTypeRE.FindAll(b, -1)
	slices.SortFunc(defaults, bytes.Compare)
	i := 0
	return defaultTypeRE.ReplaceAllFunc(b, func([]byte) []byte { i++; return defaults[i-1] })
}

// constParts keeps the compressed bytes of the parts that are the same,
// or one of a few versions, in every workbook this process writes: the
// theme and styles (the same styles are made in the same order for every
// workbook), the package's relationships and properties, the content
// types (with or without a chart). A part's bytes are compared in full
// with a kept version before its compressed bytes are used, so any other
// bytes are simply compressed anew.
var constParts = &partMemo{names: map[string]bool{
	"xl/theme/theme1.xml":        true,
	"xl/styles.xml":              true,
	"_rels/.rels":                true,
	"docProps/app.xml":           true,
	"xl/_rels/workbook.xml.rels": true,
	contentTypesPart:             true,
}}

// partMemo keeps up to maxVersions versions of each named part.
type partMemo struct {
	names map[string]bool // read only
	mu    sync.Mutex
	kept  map[string][]*compressedPart
}

const maxVersions = 4

type compressedPart struct {
	raw, compressed []byte
	crc             uint32
}

func (m *partMemo) has(name string) bool { return m.names[name] }

// get returns raw compressed, from the memo when it holds these bytes.
func (m *partMemo) get(name string, raw []byte) *compressedPart {
	m.mu.Lock()
	for _, c := range m.kept[name] {
		if bytes.Equal(c.raw, raw) {
			m.mu.Unlock()
			return c
		}
	}
	m.mu.Unlock()
	var buf bytes.Buffer
	fw := getFlate(&buf)
	fw.Write(raw) // writes to a bytes.Buffer do not fail
	fw.Close()
	fastFlate.Put(fw)
	c := &compressedPart{raw: slices.Clone(raw), compressed: buf.Bytes(), crc: crc32.ChecksumIEEE(raw)}
	if m.names[name] {
		m.mu.Lock()
		if m.kept == nil {
			m.kept = make(map[string][]*compressedPart)
		}
		if len(m.kept[name]) < maxVersions {
			m.kept[name] = append(m.kept[name], c)
		}
		m.mu.Unlock()
	}
	return c
}

// fastFlate keeps deflate writers for reuse, as archive/zip does for its
// default level: each holds a few hundred kilobytes of state.
var fastFlate sync.Pool

// getFlate returns a deflate writer at the fastest level onto w: a
// report's parts are a few kilobytes of repetitive XML, which it still
// shrinks about fivefold, and the default level spent a quarter of a
// workbook's time. klauspost/compress's is used, not compress/flate's: its
// fastest level takes about half the time on these parts (and is already
// a dependency, through the Parquet writer's zstd).
func getFlate(w io.Writer) *flate.Writer {
	if fw, ok := fastFlate.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	fw, _ := flate.NewWriter(w, flate.BestSpeed) // fails only for a bad level
	return fw
}
