package export

import (
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// TestReportFromFile writes a report and reads it back: the published
// cells come back whole, the hidden ones hidden and empty.
func TestReportFromFile(t *testing.T) {
	cube := testCube(t)
	dir := t.TempDir()
	path := Path(dir, cube.Org, cube.Month, "parquet")
	if err := WriteFileAtomic(path, func(w io.Writer) error { return WriteParquet(w, cube, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	got, ok, err := ReadPublished(dir, cube.Org, cube.Month)
	if err != nil || !ok {
		t.Fatalf("ReadPublished: %v %v", ok, err)
	}
	if got.Org != cube.Org || got.Month != cube.Month || got.MinGroupSize != cube.MinGroupSize {
		t.Errorf("got %s %s k=%d, want %s %s k=%d", got.Org, got.Month, got.MinGroupSize, cube.Org, cube.Month, cube.MinGroupSize)
	}
	want, cells := cube.Cells, got.Cells
	for i := range want {
		w := want[i]
		w.Top1, w.Top2 = [3]int64{}, [3]int64{}
		if w.Suppression.Hidden() {
			w = ur.Cell{Set: w.Set, CostCentre: w.CostCentre, Service: w.Service, Zone: w.Zone, Suppression: ur.HiddenSecondary}
		}
		if diff := cmp.Diff(w, cells[i]); diff != "" {
			t.Errorf("cell %d (-want +got):\n%s", i, diff)
		}
	}
	if _, ok, err := ReadPublished(dir, cube.Org, cube.Month+1); ok || err != nil {
		t.Errorf("a month without a file: %v %v", ok, err)
	}
}
