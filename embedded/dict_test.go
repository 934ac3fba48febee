package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	ur "usagereport"
)

// TestOrgIndex numbers organisations in the order first added, across the
// table's growths, and finds each again; Org 0 is a valid number too.
func TestOrgIndex(t *testing.T) {
	tests := []struct {
		name string
		orgs []ur.Org
	}{
		{"none", nil},
		{"zero", []ur.Org{0}},
		{"a few", []ur.Org{974760673, 0, 912075575, 993323659}},
		{"past growths", func() []ur.Org {
			var o []ur.Org
			for i := range 5000 {
				o = append(o, ur.Org(i*7919%1_000_000_000))
			}
			return o
		}()},
		{"last digits alike", func() []ur.Org {
			var o []ur.Org
			for i := range 300 {
				o = append(o, ur.Org(900_000_000+i*1024))
			}
			return o
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var x orgIndex
			for i, o := range tt.orgs {
				if got, ok := x.get(o); ok {
					t.Fatalf("get(%d) before add = %d, true", o, got)
				}
				if got := x.add(o); got != uint64(i) {
					t.Fatalf("add(%d) = %d, want %d", o, got, i)
				}
			}
			for i, o := range tt.orgs {
				if got, ok := x.get(o); !ok || got != uint64(i) {
					t.Errorf("get(%d) = %d, %v; want %d, true", o, got, ok, i)
				}
			}
			if got, ok := x.get(123456785); ok {
				t.Errorf("get(an org not added) = %d, true", got)
			}
		})
	}
}

// BenchmarkSegWriter is the segment writer's row path, as a run's ingest
// drives it: records with run ids, a few hundred organisations and cost
// centres, subscribers of several rows each.
func BenchmarkSegWriter(b *testing.B) {
	const n = 1 << 16
	recs := make([]ur.Record, n)
	subs, ccs := make([]uint32, n), make([]uint32, n)
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("Prosjekt %d", i)
	}
	for i := range recs {
		s := uint32(i*7919) % (n / 8)
		r := rec(ur.Org(900_000_000+i%200), oct, 0, ur.Amount(i*100))
		// A keyed hash's pseudonym: uniform bytes.
		binary.LittleEndian.PutUint64(r.Subscriber[:], uint64(s+1)*0x9e3779b97f4a7c15)
		binary.LittleEndian.PutUint64(r.Subscriber[8:], uint64(s+1)*0xbf58476d1ce4e5b9)
		r.CostCentre = names[i%len(names)]
		r.DurationS, r.VolumeBytes = int64(i%600), int64(i%5000)*1000
		recs[i], subs[i], ccs[i] = r, s+1, uint32(i%len(names))+1
	}
	b.ReportAllocs()
	for b.Loop() {
		w, err := newSegWriter(io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		for i := range recs {
			if err := w.add(&recs[i], subs[i], ccs[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.finish(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSegWriterFlushes writes a segment longer than segFlush and reads it
// back whole.
func TestSegWriterFlushes(t *testing.T) {
	var out bytes.Buffer
	w, err := newSegWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50_000 // well past segFlush bytes
	for i := range n {
		r := rec(ur.Org(900_000_000+i%300), oct, byte(i), ur.Amount(i))
		r.CostCentre = fmt.Sprintf("cc %d", i%1000)
		if err := w.add(&r, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if out.Len() <= segFlush {
		t.Fatalf("segment of %d bytes: not past segFlush (%d)", out.Len(), segFlush)
	}
	i := 0
	got, err := readSegment(&out, oct, func(r *ur.Record) error {
		want := rec(ur.Org(900_000_000+i%300), oct, byte(i), ur.Amount(i))
		want.CostCentre = fmt.Sprintf("cc %d", i%1000)
		if *r != want {
			t.Fatalf("record %d: got %+v, want %+v", i, *r, want)
		}
		i++
		return nil
	})
	if err != nil || got != n {
		t.Fatalf("readSegment: %d records, %v; want %d", got, err, n)
	}
}
