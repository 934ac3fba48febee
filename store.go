package usagereport

import (
	"context"
	"errors"
	"time"
)

// ErrAlreadyIngested is returned by FileWriter.Commit when a file with the
// same content was ingested before; nothing was changed.
var ErrAlreadyIngested = errors.New("file already ingested")

// FileMeta describes one ingested file in a store's ledger.
type FileMeta struct {
	Name       string   // base name, for people
	SHA256     [32]byte // of the decompressed content: the file's identity
	Rows       int64    // records stored
	Rejected   int64    // rows rejected
	IngestedAt time.Time
}

// Store keeps minimised records. Both stores, embedded and PostgreSQL,
// implement it.
type Store interface {
	// PseudonymKey returns the key for subscriber pseudonyms, creating one
	// on first use where the store keeps its own.
	PseudonymKey(ctx context.Context) ([]byte, error)
	// BeginFile starts writing one file's records; none are visible until
	// Commit returns nil.
	BeginFile(ctx context.Context) (FileWriter, error)
	// Files lists the ledger.
	Files(ctx context.Context) ([]FileMeta, error)
	// Months lists the months that hold records, in order.
	Months(ctx context.Context) ([]Month, error)
	// ScanMonth calls fn for every record of month m, in no particular
	// order. The record is only valid during the call.
	ScanMonth(ctx context.Context, m Month, fn func(*Record) error) error
	Close() error
}

// FileWriter receives the records of one file.
type FileWriter interface {
	Add(r *Record) error
	// Commit makes all records visible at once, together with the ledger
	// entry. If the ledger has meta.SHA256 already, it stores nothing and
	// returns ErrAlreadyIngested.
	Commit(ctx context.Context, meta FileMeta) error
	// Abort discards what was written. It is safe after Commit.
	Abort() error
}
