package ingest

import (
	"errors"
	"fmt"

	ur "usagereport"
)

// Reasons a row is rejected. A Rejection wraps one of them.
var (
	ErrMissing     = errors.New("required value is empty")
	ErrFieldCount  = errors.New("wrong number of fields")
	ErrQuote       = errors.New("bad quoting")
	ErrOrgNumber   = ur.ErrOrgNumber // the root's own: errors.Is matches either name
	ErrSubscriber  = errors.New("not an E.164 number")
	ErrTime        = errors.New("not an RFC 3339 time with offset")
	ErrService     = errors.New("not one of voice, sms, mms, data")
	ErrInteger     = errors.New("not a whole number >= 0")
	ErrCountry     = errors.New("not an ISO 3166-1 alpha-2 code")
	ErrAmount      = errors.New("not a NOK amount with '.' and at most 4 decimals")
	ErrAmountRange = ur.ErrAmountRange // the root's own
	ErrCostCentre  = errors.New("longer than 64 characters")
	ErrEncoding    = errors.New("not valid UTF-8")
	ErrControl     = errors.New("holds control characters")
	ErrNotCSV      = errors.New("not a CSV v1 file")
	ErrRowTooLong  = errors.New("a line longer than 1 MiB")
)

// Reasons lists every rejection reason, in the order summaries print them.
var Reasons = []error{
	ErrFieldCount, ErrQuote, ErrMissing, ErrOrgNumber, ErrSubscriber, ErrTime,
	ErrService, ErrInteger, ErrCountry, ErrAmount, ErrAmountRange, ErrCostCentre, ErrEncoding, ErrControl,
}

// Rejection is a row that was not ingested. It names where and why, never
// what the row held.
type Rejection struct {
	File   string // the file's base name
	Line   int    // the line the row starts on, 1-based
	Column string // the column's name in CSV v1; "" for a whole-row fault
	Err    error  // one of the reasons above
}

func (r *Rejection) Error() string {
	if r.Column == "" {
		return fmt.Sprintf("%s:%d: %v", r.File, r.Line, r.Err)
	}
	return fmt.Sprintf("%s:%d: column %s: %v", r.File, r.Line, r.Column, r.Err)
}

func (r *Rejection) Unwrap() error { return r.Err }

// FileError refuses a whole file.
type FileError struct {
	File string
	Line int // 0 when the fault is not on one line
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: file refused: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: file refused: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }
