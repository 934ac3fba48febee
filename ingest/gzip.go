package ingest

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultMaxGzipRatio is the most a gzip input may expand, in decompressed
// bytes per compressed byte read, unless GzipLimit says otherwise. Operator
// exports compress about 5 to 10 times; a file of blank lines, 1,000 times.
const DefaultMaxGzipRatio = 100

// gzipSlack is what any gzip input may expand to whatever its ratio: a
// small file is no danger.
const gzipSlack = 16 << 20

// ErrGzipRatio refuses a gzip input that expands more than its cap.
var ErrGzipRatio = errors.New("gzip input expands more than the cap")

// GzipLimit returns src so that a gzip input read from it is refused once
// its decompressed bytes pass ratio times the compressed bytes read so far
// (plus 16 MiB): a small file that decompresses to gigabytes costs
// milliseconds, not minutes. ratio 0 lifts the cap. Without GzipLimit,
// DefaultMaxGzipRatio applies.
func GzipLimit(src io.Reader, ratio float64) io.Reader {
	return &countingReader{r: src, ratio: ratio}
}

// countingReader counts the compressed bytes read, for the ratio cap.
type countingReader struct {
	r     io.Reader
	ratio float64
	n     int64
	// file is r, when a FileSource; onRead is told of what is read.
	file   *os.File
	onRead func(n int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.onRead != nil && n > 0 {
		c.onRead(int64(n))
	}
	return n, err
}

// ratioReader is a gzip stream under the cap of its countingReader.
type ratioReader struct {
	zr  *gzip.Reader
	src *countingReader
	out int64
}

func (r *ratioReader) Read(p []byte) (int, error) {
	n, err := r.zr.Read(p)
	r.out += int64(n)
	if lim := r.src.ratio * float64(r.src.n); r.src.ratio > 0 && float64(r.out) > lim+gzipSlack {
		return 0, fmt.Errorf("%w: %d bytes from %d compressed, more than %g times (raise the cap with --max-gzip-ratio)", ErrGzipRatio, r.out, r.src.n, r.src.ratio)
	}
	return n, err
}

// gunzip returns src, decompressed when it starts with gzip's magic bytes
// (a file's name says nothing) and held to the gzip cap (see GzipLimit).
// Every input format reads through it.
func gunzip(src io.Reader, name string) (io.Reader, error) {
	cr, ok := src.(*countingReader)
	if !ok {
		cr = &countingReader{r: src, ratio: DefaultMaxGzipRatio}
	}
	br := bufio.NewReaderSize(cr, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FileError{File: name, Err: fmt.Errorf("gzip header: %w", err)}
		}
		return &ratioReader{zr: zr, src: cr}, nil
	}
	return br, nil
}
