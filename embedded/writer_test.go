package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	ur "usagereport"
)

// TestAddWithIDsMakesTheSameSegments checks that subscriber and cost
// centre ids change nothing in what is stored: pseudonyms and names with
// an id and others without one (as ur.FileWriter allows: a value has one
// id or none), mixed in one segment, two months, and more of each than a
// page of the writer's dictionaries holds, by AddWithIDs and AddBatch,
// against plain Add.
func TestAddWithIDsMakesTheSameSegments(t *testing.T) {
	type added struct {
		r      ur.Record
		id, cc uint32
	}
	var in []added
	for i := range 60 {
		m := oct
		if i%3 == 0 {
			m = nov
		}
		sub := byte(i % 7)
		id := 3*uint32(sub) + 2 // ids not in the order of first use
		if sub == 5 || sub == 6 {
			id = 0 // none
		}
		r := rec(org+ur.Org(i%2), m, sub, ur.Amount(i))
		cc := 7 - uint32(i%5) // name 4 none
		r.CostCentre = fmt.Sprintf("cc %d", i%5)
		if i%5 == 4 {
			cc = 0
		}
		in = append(in, added{r, id, cc})
	}
	// Many subscribers and names of one row each, numbered as a run
	// numbers them, past a page (pageBits) and a few growths of the
	// indexes, then the first ones again.
	for i := range 3 * (1 << pageBits) {
		r := rec(org, oct, 0, ur.Amount(i))
		binary.BigEndian.PutUint32(r.Subscriber[4:], uint32(i)+1)
		r.CostCentre = fmt.Sprintf("project %d", i)
		in = append(in, added{r, uint32(i) + 100, uint32(i) + 100})
	}
	in = append(in, in[60:90]...)
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
		var ids, ccs []uint32
		for i := range in {
			switch {
			case !withID:
				err = fw.Add(&in[i].r)
			case i < 20:
				err = fw.AddWithIDs(&in[i].r, in[i].id, in[i].cc)
			default: // the rest in batches of 9
				recs, ids, ccs = append(recs, in[i].r), append(ids, in[i].id), append(ccs, in[i].cc)
				if len(recs) == 9 || i == len(in)-1 {
					err = fw.AddBatch(recs, ids, ccs)
					recs, ids, ccs = recs[:0], ids[:0], ccs[:0]
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
