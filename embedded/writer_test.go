package embedded

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	ur "usagereport"
)

// TestAddWithIDMakesTheSameSegments checks that subscriber ids change
// nothing in what is stored: a pseudonym with several ids, records
// without one in between, and two months, by AddWithID and AddBatch,
// against plain Add.
func TestAddWithIDMakesTheSameSegments(t *testing.T) {
	type added struct {
		r  ur.Record
		id uint32
	}
	var in []added
	for i := range 60 {
		m := oct
		if i%3 == 0 {
			m = nov
		}
		sub := byte(i % 7)
		id := uint32(sub) + 1 // subscriber 0 has ids 1 and 9, the others one each
		switch {
		case sub == 0 && i%2 == 1:
			id = 9
		case sub == 5:
			id = 0 // none
		case sub == 6 && i%4 == 0:
			id = 0 // sometimes none
		}
		in = append(in, added{rec(org+ur.Org(i%2), m, sub, ur.Amount(i)), id})
	}
	ctx := context.Background()
	write := func(withID bool) string {
		dir := t.TempDir()
		s := openTest(t, dir)
		w, err := s.BeginFile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fw := w.(*fileWriter)
		var recs []ur.Record
		var ids []uint32
		for i := range in {
			switch {
			case !withID:
				err = fw.Add(&in[i].r)
			case i < 20:
				err = fw.AddWithID(&in[i].r, in[i].id)
			default: // the rest in batches of 9
				recs, ids = append(recs, in[i].r), append(ids, in[i].id)
				if len(recs) == 9 || i == len(in)-1 {
					err = fw.AddBatch(recs, ids)
					recs, ids = recs[:0], ids[:0]
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Commit(ctx, ur.FileMeta{Name: "f.csv", SHA256: [32]byte{1}, Rows: int64(len(in))}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	plain, withID := write(false), write(true)
	for _, m := range []ur.Month{oct, nov} {
		seg := filepath.Join("months", m.String(), "01"+string(bytes.Repeat([]byte("00"), 31))+".seg")
		want, err := os.ReadFile(filepath.Join(plain, seg))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(withID, seg))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: segment with ids differs from the one without", m)
		}
	}
}
