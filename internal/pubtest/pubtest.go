// Package pubtest checks a store's publication records and ledger
// sequences the same way for both stores.
package pubtest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// Store is what the checks need of a store.
type Store interface {
	ur.Store
	ur.Publisher
}

const orgA, orgB = ur.Org(974760673), ur.Org(923609016)

var oct, nov = ur.MonthOf(2026, 10), ur.MonthOf(2026, 11)

func ingest(t *testing.T, s Store, name string, recs ...ur.Record) {
	t.Helper()
	ctx := context.Background()
	w, err := s.BeginFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx, ur.FileMeta{Name: name, SHA256: sha256.Sum256([]byte(name)), Rows: int64(len(recs))}); err != nil {
		t.Fatal(err)
	}
}

func rec(org ur.Org, m ur.Month, sub byte) ur.Record {
	return ur.Record{Org: org, Month: m, Subscriber: ur.Pseudonym{sub}, CostCentre: "Salg", Service: ur.Voice, DurationS: 60, Charge: 100}
}

// Run checks s, a new, empty store: ledger sequences grow with each
// committed file and select records; a version is recorded once, read back
// whole, listed, and deleted by organisation or by month.
func Run(t *testing.T, s Store) {
	ctx := context.Background()
	seq0, err := s.LedgerSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ingest(t, s, "a.csv", rec(orgA, oct, 1), rec(orgB, oct, 2), rec(orgA, nov, 3))
	seq1, _ := s.LedgerSeq(ctx)
	ingest(t, s, "b.csv", rec(orgA, oct, 4))
	seq2, _ := s.LedgerSeq(ctx)
	if !(seq0 < seq1 && seq1 < seq2) {
		t.Fatalf("ledger sequences %d, %d, %d do not grow with each file", seq0, seq1, seq2)
	}
	scan := func(after, upTo int64) map[byte]int64 {
		got := map[byte]int64{}
		err := s.ScanMonthSeq(ctx, oct, after, upTo, func(r *ur.Record, seq int64) error {
			got[r.Subscriber[0]] = seq
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if diff := cmp.Diff(map[byte]int64{1: seq1, 2: seq1, 4: seq2}, scan(-1, seq2)); diff != "" {
		t.Errorf("ScanMonthSeq(all) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[byte]int64{4: seq2}, scan(seq1, seq2)); diff != "" {
		t.Errorf("ScanMonthSeq(after the first file) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[byte]int64{1: seq1, 2: seq1}, scan(-1, seq1)); diff != "" {
		t.Errorf("ScanMonthSeq(up to the first file) (-want +got):\n%s", diff)
	}

	cells := ur.PublishedCells([]ur.Cell{
		{Subscribers: 5, Events: 9, DurationS: 540, Charge: 900},
		{Set: ur.ByCostCentre, CostCentre: "Salg, Ålesund", Suppression: ur.HiddenSmall, Subscribers: 2},
	})
	p := ur.Publication{Org: orgA, Month: oct, Version: 1, MinGroupSize: 5, DominanceP: 15, Format: "report-v1",
		PublishedAt: time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), Covered: seq1, LateEvents: 3,
		Digest: ur.DigestCells(cells), Cells: cells}
	if err := s.Publish(ctx, &p); err != nil {
		t.Fatal(err)
	}
	other := p
	other.Cells = ur.PublishedCells(cells[:1])
	other.Digest = ur.DigestCells(other.Cells)
	if err := s.Publish(ctx, &other); !errors.Is(err, ur.ErrPublished) {
		t.Errorf("a second version 1: %v, want ErrPublished", err)
	}
	bad := p
	bad.Version, bad.Digest = 2, [32]byte{1}
	if err := s.Publish(ctx, &bad); err == nil {
		t.Error("a record whose digest does not match its cells was taken")
	}
	got, err := s.Publication(ctx, orgA, oct, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !got.PublishedAt.Equal(p.PublishedAt) {
		t.Errorf("published at %v, want %v", got.PublishedAt, p.PublishedAt)
	}
	got.PublishedAt = p.PublishedAt
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("Publication (-published +read):\n%s", diff)
	}
	if _, err := s.Publication(ctx, orgA, oct, 2); !errors.Is(err, ur.ErrNotPublished) {
		t.Errorf("an unrecorded version: %v, want ErrNotPublished", err)
	}

	q := p
	q.Org, q.Month = orgB, nov
	s.Publish(ctx, &q)
	r := p
	r.Org = orgB
	s.Publish(ctx, &r)
	list, err := s.Publications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range list {
		if l.Cells != nil {
			t.Error("Publications returned cells")
		}
		keys = append(keys, l.Org.String()+" "+l.Month.String())
	}
	if diff := cmp.Diff([]string{"923609016 2026-10", "923609016 2026-11", "974760673 2026-10"}, keys); diff != "" {
		t.Errorf("Publications (-want +got):\n%s", diff)
	}
	if n, err := s.DeletePublicationsBefore(ctx, nov); err != nil || n != 2 {
		t.Errorf("DeletePublicationsBefore(November) = %d, %v; want 2", n, err)
	}
	if n, err := s.DeletePublications(ctx, orgB); err != nil || n != 1 {
		t.Errorf("DeletePublications(orgB) = %d, %v; want 1", n, err)
	}
	if list, _ := s.Publications(ctx); len(list) != 0 {
		t.Errorf("after the deletes %d records are left", len(list))
	}
}
