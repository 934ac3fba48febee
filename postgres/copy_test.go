package postgres

import (
	"bytes"
	"math"
	"math/big"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	ur "usagereport"
)

// TestAppendCharge checks the hand-written numeric encoder against pgx's,
// which the brief names: pgtype.Numeric{Int: units, Exp: -4}, and that the
// decoder reads it back.
func TestAppendCharge(t *testing.T) {
	m := pgtype.NewMap()
	values := []int64{0, 1, -1, 9, 10, 9999, 10000, -10000, 10001, 99999999, 100000000, -30500,
		1_0000_0000, 1234567891234, 999_999_999_999_999_999, -999_999_999_999_999_999, math.MaxInt64, math.MinInt64 + 1}
	for v := int64(1); v < math.MaxInt64/7; v *= 7 {
		values = append(values, v, -v, v+10000, v-1)
	}
	for _, v := range values {
		want, err := m.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, pgtype.Numeric{Int: big.NewInt(v), Exp: -4, Valid: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := appendCharge(nil, ur.Amount(v))
		if !bytes.Equal(got, want) {
			t.Errorf("appendCharge(%d) = % x, pgx encodes % x", v, got, want)
		}
		if v > -1e18 && v < 1e18 {
			back, err := numericUnits(got)
			if err != nil || back != v {
				t.Errorf("numericUnits(appendCharge(%d)) = %d, %v", v, back, err)
			}
		}
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	recs := genRecords(1024, jan)
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range recs {
			buf = appendRecord(buf, &recs[i], 42)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
