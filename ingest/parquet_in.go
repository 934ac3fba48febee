package ingest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	ur "usagereport"
)

// parquetReader reads a Parquet file through a profile. Source columns are
// leaf columns, named by their path joined with dots, in any case; only
// the mapped ones are read, page by page, and a mapped column must be flat
// (not in a list). Rejections give the row's number, counted from 1, as
// their line.
//
// Values become text as CSV v1 writes them: strings as they are, integers
// in decimal, DECIMAL(p,s) integers with their scale, floating point by its
// shortest decimal form, and a TIMESTAMP as RFC 3339 (one not adjusted to
// UTC is a wall clock in the profile's time_zone). Parquet needs random
// access, so the whole file is read into memory first.
type parquetReader struct {
	name    string
	sum     [32]byte
	file    *parquet.File
	cv      *converter
	cols    []pqColumn
	at      [numCols][2]int // index into cols, -1 when absent
	dropped []string

	rg     int   // next row group
	rows   int64 // rows in the current row group
	pos    int64 // next row in it
	row    int   // rows read from the file
	values [][]parquet.Value
	raw    rawRow
}

type pqColumn struct {
	index int
	conv  func(dst []byte, v parquet.Value) ([]byte, error)
}

// errUnsupported: a mapped column of a type no kept field can take.
var errUnsupported = errors.New("is of a type that cannot be read as text")

func newParquetReader(src io.Reader, name string, p *Profile, pseudo *Pseudonymizer, oslo *Oslo) (*parquetReader, error) {
	h := sha256.New()
	data, err := io.ReadAll(hashReader{src, h})
	if err != nil {
		return nil, &FileError{File: name, Err: fmt.Errorf("read: %w", err)}
	}
	r := &parquetReader{name: name, cv: newConverter(p, pseudo, oslo)}
	h.Sum(r.sum[:0])
	r.file, err = parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		// parquet-go's errors name offsets and structures, not values.
		return nil, &FileError{File: name, Err: fmt.Errorf("not a Parquet file: %w", err)}
	}
	if err := r.mapColumns(p); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *parquetReader) mapColumns(p *Profile) error {
	schema := r.file.Schema()
	paths := schema.Columns()
	pos := make(map[string]int, len(paths))
	for i, path := range paths {
		pos[foldName(strings.Join(path, "."))] = i
	}
	used := make(map[int]int) // leaf index -> r.cols index
	for c := range r.at {
		r.at[c] = [2]int{-1, -1}
	}
	missing, err := p.findSources(pos, func(c, k, i int) error {
		if j, ok := used[i]; ok {
			r.at[c][k] = j
			return nil
		}
		leaf, _ := schema.Lookup(paths[i]...)
		conv, instant, err := r.converterFor(p, leaf, c, len(p.sources[c]))
		if err != nil {
			return &FileError{File: r.name, Err: fmt.Errorf("column %q (mapped to %s) %w", p.sources[c][k], colNames[c], err)}
		}
		if instant {
			r.cv.instant = true
		}
		used[i] = len(r.cols)
		r.at[c][k] = len(r.cols)
		r.cols = append(r.cols, pqColumn{index: leaf.ColumnIndex, conv: conv})
		return nil
	})
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &FileError{File: r.name, Err: fmt.Errorf("the schema lacks the column(s) the profile maps to %s", strings.Join(missing, ", "))}
	}
	for i, path := range paths {
		if _, ok := used[i]; !ok {
			r.dropped = append(r.dropped, dropName(strings.Join(path, ".")))
		}
	}
	return nil
}

// converterFor returns how the values of a mapped leaf become text, and
// whether they are instants (timestamps) rather than times to parse.
func (r *parquetReader) converterFor(p *Profile, leaf parquet.LeafColumn, c, nsrc int) (func([]byte, parquet.Value) ([]byte, error), bool, error) {
	if leaf.MaxRepetitionLevel > 0 {
		return nil, false, errors.New("is repeated; only flat columns can be mapped")
	}
	typ := leaf.Node.Type()
	var lt format.LogicalTypeValue
	if l := typ.LogicalType(); l != nil {
		lt = l.Value
	}
	switch typ.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		if _, ok := lt.(*format.DecimalType); ok {
			return nil, false, errUnsupported
		}
		return func(dst []byte, v parquet.Value) ([]byte, error) { return append(dst, v.ByteArray()...), nil }, false, nil
	case parquet.Int32, parquet.Int64:
		switch t := lt.(type) {
		case *format.DecimalType:
			scale := int(t.Scale)
			return func(dst []byte, v parquet.Value) ([]byte, error) { return appendScaled(dst, intOf(v), scale), nil }, false, nil
		case *format.TimestampType:
			if c != colStartTime || nsrc != 1 {
				return nil, false, errors.New("is a timestamp; only start_time, alone, can take one")
			}
			if !t.IsAdjustedToUTC && p.loc == nil {
				return nil, false, errors.New("is a local timestamp (not adjusted to UTC); the profile needs time_layout and time_zone for it")
			}
			per := int64(1000)
			switch t.Unit.Value.(type) {
			case *format.MicroSeconds:
				per = 1_000_000
			case *format.NanoSeconds:
				per = 1_000_000_000
			}
			utc, loc, repeated := t.IsAdjustedToUTC, p.loc, p.repeated
			return func(dst []byte, v parquet.Value) ([]byte, error) {
				u := floorDiv(v.Int64(), per)
				if !utc {
					var err error
					if u, err = resolveWall(u, loc, repeated); err != nil {
						return dst, err
					}
				}
				out, ok := appendRFC3339Z(dst, u)
				if !ok {
					return dst, ErrTime
				}
				return out, nil
			}, true, nil
		case nil, *format.IntType:
			return func(dst []byte, v parquet.Value) ([]byte, error) { return strconv.AppendInt(dst, intOf(v), 10), nil }, false, nil
		}
		return nil, false, errUnsupported
	case parquet.Float, parquet.Double:
		return func(dst []byte, v parquet.Value) ([]byte, error) {
			f := v.Double()
			if v.Kind() == parquet.Float {
				f = float64(v.Float())
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return dst, nil
			}
			return strconv.AppendFloat(dst, f, 'f', -1, 64), nil
		}, false, nil
	}
	return nil, false, errUnsupported
}

// intOf reads an INT32 or INT64 value.
func intOf(v parquet.Value) int64 {
	if v.Kind() == parquet.Int32 {
		return int64(v.Int32())
	}
	return v.Int64()
}

// appendScaled writes n / 10^scale in decimal.
func appendScaled(dst []byte, n int64, scale int) []byte {
	if scale <= 0 {
		return strconv.AppendInt(dst, n, 10)
	}
	if n < 0 {
		dst = append(dst, '-')
	}
	s := strconv.FormatUint(uint64(n), 10)
	if n < 0 {
		s = strconv.FormatUint(-uint64(n), 10)
	}
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	dst = append(dst, s[:len(s)-scale]...)
	dst = append(dst, '.')
	return append(dst, s[len(s)-scale:]...)
}

// Dropped lists the schema's leaf columns the profile does not map, by
// name only.
func (r *parquetReader) Dropped() []string { return r.dropped }

// Line returns the number of the last row read, counted from 1.
func (r *parquetReader) Line() int { return r.row }

func (r *parquetReader) runIDs() (sub, cc uint32) { return r.cv.v.runIDs() }

// SHA256 returns the hash of the whole file, read when it was opened.
func (r *parquetReader) SHA256() [32]byte { return r.sum }

// loadRowGroup reads the mapped columns of the next non-empty row group.
func (r *parquetReader) loadRowGroup() error {
	groups := r.file.RowGroups()
	for ; r.rg < len(groups); r.rg++ {
		g := groups[r.rg]
		if g.NumRows() == 0 {
			continue
		}
		r.values = r.values[:0]
		chunks := g.ColumnChunks()
		for _, col := range r.cols {
			vals, err := readChunk(chunks[col.index])
			if err != nil {
				return &FileError{File: r.name, Err: fmt.Errorf("row group %d: %w", r.rg, err)}
			}
			if int64(len(vals)) != g.NumRows() {
				return &FileError{File: r.name, Err: fmt.Errorf("row group %d: a column holds %d values for %d rows", r.rg, len(vals), g.NumRows())}
			}
			r.values = append(r.values, vals)
		}
		r.rows, r.pos = g.NumRows(), 0
		r.rg++
		return nil
	}
	return io.EOF
}

func readChunk(cc parquet.ColumnChunk) ([]parquet.Value, error) {
	pages := cc.Pages()
	defer pages.Close()
	var vals []parquet.Value
	for {
		page, err := pages.ReadPage()
		if err == io.EOF {
			return vals, nil
		}
		if err != nil {
			return nil, err
		}
		buf := make([]parquet.Value, page.NumValues())
		n, err := page.Values().ReadValues(buf)
		if err != nil && err != io.EOF {
			return nil, err
		}
		vals = append(vals, buf[:n]...)
	}
}

// Read reads the next row into rec.
func (r *parquetReader) Read(rec *ur.Record) error {
	if r.pos == r.rows {
		if err := r.loadRowGroup(); err != nil {
			return err
		}
	}
	i := r.pos
	r.pos++
	r.row++
	for c := range r.at {
		for k, j := range r.at[c] {
			r.raw[c][k] = nil
			if j < 0 {
				continue
			}
			v := r.values[j][i]
			if v.IsNull() {
				continue
			}
			b, err := r.cols[j].conv(r.raw[c][k][:0:0], v)
			if err != nil {
				return &Rejection{File: r.name, Line: r.row, Column: colNames[c], Err: err}
			}
			r.raw[c][k] = b
		}
	}
	if c, err := r.cv.record(&r.raw, rec); err != nil {
		return &Rejection{File: r.name, Line: r.row, Column: colNames[c], Err: err}
	}
	return nil
}
