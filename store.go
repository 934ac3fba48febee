package usagereport

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrAlreadyIngested is returned by FileWriter.Commit when a file with the
// same content was ingested before; nothing was changed. The error a store
// returns is an *AlreadyIngestedError, which names the file that was first.
var ErrAlreadyIngested = errors.New("file already ingested")

// AlreadyIngestedError is ErrAlreadyIngested with the ledger entry of the
// file ingested first: the same bytes, or the same records however they
// were encoded (see FileMeta.Content).
type AlreadyIngestedError struct {
	Name       string    // the first file's name
	IngestedAt time.Time // when it was ingested
	SameBytes  bool      // the same decompressed bytes, not only the same records
}

func (e *AlreadyIngestedError) Error() string {
	return fmt.Sprintf("already ingested as %s on %s", e.Name, e.IngestedAt.UTC().Format("2006-01-02 15:04 UTC"))
}

// Is makes errors.Is(err, ErrAlreadyIngested) true.
func (e *AlreadyIngestedError) Is(target error) bool { return target == ErrAlreadyIngested }

// FileMeta describes one ingested file in a store's ledger.
type FileMeta struct {
	Name   string   // base name, for people
	SHA256 [32]byte // of the decompressed content: the file's identity
	// Content is an order-independent digest of the file's stored
	// records (ingest.Digest): the same records sent again with other
	// line ends, a byte-order mark, in another order or gzipped have the
	// same Content. All zero for a file without records, which is never
	// taken for another.
	Content    [32]byte
	Rows       int64 // records stored
	Rejected   int64 // rows rejected
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

// Backend is a store with everything the commands use of one: records,
// publication records, the organisation registry, retention, access tokens,
// the audit log and the delivery ledger. Both stores, embedded and
// PostgreSQL, are one, and say so at compile time, so that a command that
// opens a store needs no run-time check of what it can do.
type Backend interface {
	Store
	Publisher
	Registry
	Purger
	Tokens
	AuditLog
	Deliveries
	// CheckKey refuses a pseudonym key, given by its fingerprint, other
	// than the one the stored records were made with: mixing keys would
	// count one subscriber as two. The first call records the fingerprint.
	CheckKey(ctx context.Context, fingerprint string) error
}

// FileWriter receives the records of one file.
type FileWriter interface {
	Add(r *Record) error
	// AddBatch adds recs[i] in turn, as Add does. subs[i] and ccs[i] are
	// the ingest run's numbers for recs[i]'s subscriber and cost centre (0
	// for none): one id stands for one pseudonym, or one cost centre name,
	// in every record of the run added with it, and a pseudonym or name
	// comes with that one id, or always with none, so that a writer may
	// find them by it alone instead of keeping and hashing them. Ids are
	// never stored; a writer may ignore them.
	AddBatch(recs []Record, subs, ccs []uint32) error
	// Commit makes all records visible at once, together with the ledger
	// entry. If the ledger has meta.SHA256, or a non-zero meta.Content,
	// already, it stores nothing and returns an *AlreadyIngestedError.
	Commit(ctx context.Context, meta FileMeta) error
	// Abort discards what was written. It is safe after Commit.
	Abort() error
}
