package ingest

import (
	"io"

	ur "usagereport"
)

// RowReader reads one input file into minimised records. The CSV v1
// Reader is one; a Profile opens the others. Read returns io.EOF after the
// last row, a *Rejection for a bad row (go on reading), or a *FileError
// when the file cannot be read on.
type RowReader interface {
	Read(rec *ur.Record) error
	// SHA256 is the hash of the input's bytes as read (after gzip, before
	// any character decoding); after io.EOF, of the whole file.
	SHA256() [32]byte
	// Line is the line (or, for Parquet, the row) the last row read
	// started on.
	Line() int
	// Dropped lists, by name, the input's columns (or keys) that are not
	// kept, as far as read; a name that looks like a value is withheld.
	Dropped() []string
}

// idReader is a RowReader whose records come with the run's ids of their
// subscriber and cost centre (see ur.FileWriter.AddBatch): every reader of
// this package, through its Validator. FileWith hands them to the store's
// writer, which then keeps 4 bytes per subscriber and cost centre of a
// month instead of a copy of each and a table to find it by.
type idReader interface {
	// runIDs returns the ids of the record Read returned last.
	runIDs() (sub, cc uint32)
}

// Open starts reading src, the file named name (for messages), with
// profile p. The built-in CSV v1 profile gives the fast CSV v1 Reader.
func (p *Profile) Open(src io.Reader, name string, pseudo *Pseudonymizer, oslo *Oslo) (RowReader, error) {
	if p.v1 {
		return NewReader(src, name, pseudo, oslo)
	}
	switch p.format {
	case formatJSONL:
		return newJSONLReader(src, name, p, pseudo, oslo)
	case formatParquet:
		return newParquetReader(src, name, p, pseudo, oslo)
	}
	return newCSVReader(src, name, p, pseudo, oslo)
}
