package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	ur "usagereport"
)

// Months lists the months that hold records: the partitions that are not
// empty (a purge or DeleteOrg may leave one empty).
func (s *Store) Months(ctx context.Context) ([]ur.Month, error) {
	parts, err := s.partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list months: %w", err)
	}
	var out []ur.Month
	for _, p := range parts {
		var any bool
		err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{p.name}.Sanitize()+")").Scan(&any)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" {
			continue // dropped by a purge since we listed it
		}
		if err != nil {
			return nil, fmt.Errorf("list months: %w", err)
		}
		if any {
			out = append(out, p.month)
		}
	}
	return out, nil
}

// ScanMonth streams month m's records to fn, one row at a time as the
// server sends them. Rows come in binary and are decoded by hand into one
// reused Record: no value per column is allocated, and a cost centre's
// string is made once per distinct name.
func (s *Store) ScanMonth(ctx context.Context, m ur.Month, fn func(*ur.Record) error) error {
	return s.scanRecords(ctx, m, false, func(r *ur.Record, _ int64) error { return fn(r) },
		`SELECT org, subscriber, cost_centre, service, zone, duration_s, volume_bytes, charge
		FROM records WHERE month = $1`, int32(m))
}

// scanRecords runs query, whose rows are the eight columns decodeRecord
// reads and, withSeq, the record's file's ledger sequence, and calls fn
// with each record of month m (and its sequence, else 0).
func (s *Store) scanRecords(ctx context.Context, m ur.Month, withSeq bool, fn func(*ur.Record, int64) error, query string, args ...any) error {
	rows, err := s.pool.Query(ctx, query, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
	if err != nil {
		return fmt.Errorf("scan month %s: %w", m, err)
	}
	defer rows.Close()
	var r ur.Record
	r.Month = m
	names := make(map[string]string)
	var n int64
	for rows.Next() {
		n++
		v := rows.RawValues()
		var seq int64
		if withSeq {
			if len(v) != 9 || len(v[8]) != 8 {
				return fmt.Errorf("scan month %s: record %d: %w", m, n, errBadValue)
			}
			seq = int64(binary.BigEndian.Uint64(v[8]))
			v = v[:8]
		}
		if err := decodeRecord(v, &r, names); err != nil {
			return fmt.Errorf("scan month %s: record %d: %w", m, n, err)
		}
		if err := fn(&r, seq); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan month %s: %w", m, err)
	}
	return nil
}

var errBadValue = errors.New("unexpected value in the records table")

func decodeRecord(v [][]byte, r *ur.Record, names map[string]string) error {
	if len(v) != 8 || len(v[0]) != 4 || len(v[1]) != 16 || v[2] == nil ||
		len(v[3]) != 2 || len(v[4]) != 2 || len(v[5]) != 8 || len(v[6]) != 8 {
		return errBadValue
	}
	be := binary.BigEndian
	r.Org = ur.Org(be.Uint32(v[0]))
	copy(r.Subscriber[:], v[1])
	cc, ok := names[string(v[2])] // no allocation for the lookup
	if !ok {
		cc = string(v[2])
		if len(names) < 1<<16 {
			names[cc] = cc
		}
	}
	r.CostCentre = cc
	r.Service = ur.Service(be.Uint16(v[3]))
	r.Zone = ur.Zone(be.Uint16(v[4]))
	r.DurationS = int64(be.Uint64(v[5]))
	r.VolumeBytes = int64(be.Uint64(v[6]))
	c, err := numericUnits(v[7])
	if err != nil {
		return err
	}
	r.Charge = ur.Amount(c)
	return nil
}

// numericUnits decodes a binary numeric of scale 4 or less into units of
// 1/10000. The wire form is ndigits, weight, sign, dscale (int16 each), then
// ndigits base-10000 digits; the value is sum(digit[i] * 10000^(weight-i)),
// so the units are sum(digit[i] * 10000^(weight+1-i)).
func numericUnits(b []byte) (int64, error) {
	if len(b) < 8 {
		return 0, errBadValue
	}
	be := binary.BigEndian
	ndigits := int(int16(be.Uint16(b[0:])))
	weight := int(int16(be.Uint16(b[2:])))
	sign := be.Uint16(b[4:])
	if ndigits < 0 || len(b) != 8+2*ndigits || (sign != 0 && sign != 0x4000) {
		return 0, errBadValue // NaN, infinity or garbage
	}
	if ndigits == 0 {
		return 0, nil
	}
	if weight+1-(ndigits-1) < 0 || weight > 3 {
		return 0, errBadValue // more than 4 decimals, or beyond DECIMAL(18,4)
	}
	var v int64
	for e := weight + 1; e >= 0; e-- {
		if v > math.MaxInt64/10000-1 {
			return 0, errBadValue
		}
		v *= 10000
		if i := weight + 1 - e; i < ndigits {
			v += int64(be.Uint16(b[8+2*i:]))
		}
	}
	if sign == 0x4000 {
		v = -v
	}
	return v, nil
}
