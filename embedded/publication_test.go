package embedded

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/internal/atomicfile"
	"usagereport/internal/pubtest"
)

func TestPublications(t *testing.T) { pubtest.Run(t, openTest(t, t.TempDir())) }

// publishTwoFiles writes p as stores before 6 December 2026 did: its
// cells, then its JSON entry, each a file of its own.
func publishTwoFiles(t *testing.T, s *Store, p *ur.Publication) {
	t.Helper()
	e := pubEntry{Org: p.Org, Month: p.Month.String(), Version: p.Version, MinGroupSize: p.MinGroupSize, DominanceP: p.DominanceP,
		Format: p.Format, PublishedAt: p.PublishedAt.UTC(), Covered: p.Covered, LateEvents: p.LateEvents, Reason: p.Reason,
		Digest: hex.EncodeToString(p.Digest[:])}
	jsonPath := s.pubPath(p.Org, p.Month, p.Version, "json")
	if err := os.MkdirAll(filepath.Dir(jsonPath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(s.pubPath(p.Org, p.Month, p.Version, "cells"), ur.EncodeCells(p.Cells), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(jsonPath, e, "  "); err != nil {
		t.Fatal(err)
	}
}

func testPublication(org ur.Org, m ur.Month, version int, charge ur.Amount) ur.Publication {
	cells := ur.PublishedCells([]ur.Cell{
		{Subscribers: 7, Events: 12, DurationS: 600, Charge: charge},
		{Set: ur.ByCostCentre, CostCentre: "Salg, Ålesund", Suppression: ur.HiddenSmall, Subscribers: 2},
	})
	return ur.Publication{Org: org, Month: m, Version: version, MinGroupSize: 5, DominanceP: 15, Format: "report-v1",
		PublishedAt: time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), Covered: 4, LateEvents: 1,
		Digest: ur.DigestCells(cells), Cells: cells}
}

// TestPublicationsOfOlderStores reads a store holding records of the older
// two-file form beside records of the one-file form: both are listed and
// read whole, a version recorded in the older form is not recorded again,
// and both forms are deleted by month and by organisation. The one-file
// record holds exactly the older form's two files, one after the other.
func TestPublicationsOfOlderStores(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	const orgA, orgB = ur.Org(974760673), ur.Org(923609016)
	sep, oct, nov := ur.MonthOf(2026, 9), ur.MonthOf(2026, 10), ur.MonthOf(2026, 11)
	old := []ur.Publication{testPublication(orgA, sep, 1, 800), testPublication(orgA, oct, 1, 900), testPublication(orgB, oct, 1, 1000)}
	for i := range old {
		publishTwoFiles(t, s, &old[i])
	}
	again := testPublication(orgA, oct, 1, 5)
	if err := s.Publish(ctx, &again); !errors.Is(err, ur.ErrPublished) {
		t.Errorf("a version recorded in the older form, again: %v, want ErrPublished", err)
	}
	fresh := []ur.Publication{testPublication(orgA, oct, 2, 950), testPublication(orgA, nov, 1, 1100), testPublication(orgB, sep, 1, 700)}
	for i := range fresh {
		if err := s.Publish(ctx, &fresh[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Publish(ctx, &fresh[0]); !errors.Is(err, ur.ErrPublished) {
		t.Errorf("a version recorded in the one-file form, again: %v, want ErrPublished", err)
	}
	for _, p := range append(append([]ur.Publication{}, old...), fresh...) {
		got, err := s.Publication(ctx, p.Org, p.Month, p.Version)
		if err != nil {
			t.Fatalf("%s %s v%d: %v", p.Org, p.Month, p.Version, err)
		}
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("%s %s v%d (-published +read):\n%s", p.Org, p.Month, p.Version, diff)
		}
	}
	list, err := s.Publications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []ur.Publication
	for _, p := range append(append([]ur.Publication{}, old...), fresh...) {
		p.Cells = nil
		want = append(want, p)
	}
	if diff := cmp.Diff(want, list, cmp.Transformer("sorted", func(ps []ur.Publication) []ur.Publication {
		out := append([]ur.Publication{}, ps...)
		slices.SortFunc(out, comparePublications)
		return out
	})); diff != "" {
		t.Errorf("Publications (-want +got):\n%s", diff)
	}

	// The one-file record of fresh[1], against the two files the older
	// form writes for it in another store.
	o := openTest(t, t.TempDir())
	publishTwoFiles(t, o, &fresh[1])
	j, _ := os.ReadFile(o.pubPath(fresh[1].Org, nov, 1, "json"))
	c, _ := os.ReadFile(o.pubPath(fresh[1].Org, nov, 1, "cells"))
	rec, err := os.ReadFile(s.pubPath(fresh[1].Org, nov, 1, "rec"))
	if err != nil || !bytes.Equal(rec, append(j, c...)) {
		t.Errorf("the record file is not the older form's JSON and cells one after the other (%v)", err)
	}

	// September and before: the older record of orgA, the newer of orgB.
	if n, err := s.DeletePublicationsBefore(ctx, oct); err != nil || n != 2 {
		t.Errorf("DeletePublicationsBefore(%s) = %d, %v; want 2", oct, n, err)
	}
	for _, p := range []ur.Publication{old[0], fresh[2]} {
		if _, err := s.Publication(ctx, p.Org, p.Month, p.Version); !errors.Is(err, ur.ErrNotPublished) {
			t.Errorf("%s %s after deleting the months before %s: %v, want ErrNotPublished", p.Org, p.Month, oct, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(s.dir, "publications", "*", "2026-09.*")); len(left) > 0 {
		t.Errorf("files of September left: %v", left)
	}
	// orgA: October v1 (older form), v2 and November.
	if n, err := s.DeletePublications(ctx, orgA); err != nil || n != 3 {
		t.Errorf("DeletePublications(%s) = %d, %v; want 3", orgA, n, err)
	}
	list, err = s.Publications(ctx)
	if err != nil || len(list) != 1 || list[0].Org != orgB || list[0].Month != oct {
		t.Errorf("left after the deletions: %v, %v; want orgB's October", list, err)
	}
}

// TestPublicationRecordDamaged wants a record file whose cells do not
// match its digest, or whose entry is cut, refused when read.
func TestPublicationRecordDamaged(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	p := testPublication(974760673, ur.MonthOf(2026, 10), 1, 900)
	if err := s.Publish(ctx, &p); err != nil {
		t.Fatal(err)
	}
	path := s.pubPath(p.Org, p.Month, 1, "rec")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"cells changed": append(append([]byte{}, good[:len(good)-1]...), good[len(good)-1]^1),
		"cells cut":     good[:len(good)-2],
		"no cells":      good[:bytes.Index(good, []byte("\n}\n"))+2],
		"entry cut":     good[:40],
	} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Publication(ctx, p.Org, p.Month, 1); err == nil || errors.Is(err, ur.ErrNotPublished) {
			t.Errorf("%s: read with %v, want an error", name, err)
		}
	}
}
