package ingest

import (
	"fmt"
	"sync"
	"testing"
)

// TestCCNamesShared interns the same names from several goroutines at
// once, past a page of names and several growths of the table: each name
// gets one string and one id, the ids are 1 to n, and a name's bytes are
// not the caller's (which it reuses).
func TestCCNamesShared(t *testing.T) {
	const n = 3*(1<<ccPageBits) + 17
	c := newCCNames()
	type got struct {
		s  string
		id uint32
	}
	const workers = 4
	res := make([][]got, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 32)
			res[w] = make([]got, n)
			for k := range n {
				i := (k*7 + w*101) % n // each worker in its own order
				buf = fmt.Appendf(buf[:0], "Prosjekt %d", i)
				s, id, ok := c.get(buf)
				if !ok {
					s, id = c.add(buf)
				}
				buf[0] = 'X' // the interned name must not change with it
				res[w][i] = got{s, id}
			}
		}()
	}
	wg.Wait()
	seen := make(map[uint32]int)
	for i := range n {
		want := fmt.Sprintf("Prosjekt %d", i)
		first := res[0][i]
		for w := range workers {
			if g := res[w][i]; g.s != want || g.id != first.id {
				t.Fatalf("name %d: worker %d got %q id %d, worker 0 id %d; want %q", i, w, g.s, g.id, first.id, want)
			}
		}
		if first.id < 1 || first.id > n {
			t.Errorf("name %d: id %d outside 1..%d", i, first.id, n)
		}
		if j, dup := seen[first.id]; dup {
			t.Errorf("names %d and %d share id %d", j, i, first.id)
		}
		seen[first.id] = i
		if s := c.name(first.id); s != want {
			t.Errorf("name(%d) = %q, want %q", first.id, s, want)
		}
	}
	if s, id, ok := c.get([]byte("not a name")); ok {
		t.Errorf("get of a name never added: %q %d", s, id)
	}
	if s, id := c.add(nil); s != "" || id != n+1 {
		t.Errorf("empty name: %q id %d, want \"\" id %d", s, id, n+1)
	}
}
