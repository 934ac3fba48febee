package ingest

import (
	"strconv"
	"sync"
	"testing"

	ur "usagereport"
)

// TestPseudonymizerShared has goroutines pseudonymise the same numbers in
// different orders while the cache grows: every number gets the pseudonym
// a Pseudonymizer of its own gives it, and one id, the ids numbering the
// numbers from 1.
func TestPseudonymizerShared(t *testing.T) {
	const n, workers = 5000, 4
	numbers := make([][]byte, n)
	for i := range numbers {
		numbers[i] = []byte("+47" + strconv.Itoa(40_000_000+i*7919%10_000_000))
	}
	shared, err := NewPseudonymizer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		p  ur.Pseudonym
		id uint32
	}
	results := make([][]got, workers)
	var wg sync.WaitGroup
	for w := range workers {
		results[w] = make([]got, n)
		wg.Go(func() {
			for k := range n {
				i := k
				if w%2 == 1 {
					i = n - 1 - k
				}
				p, id := shared.lookup(numberKey(numbers[i]))
				results[w][i] = got{p, id}
			}
		})
	}
	wg.Wait()
	alone, _ := NewPseudonymizer(testKey)
	seen := make(map[uint32]int)
	for i, number := range numbers {
		want := alone.Pseudonym(number)
		for w := range workers {
			if g := results[w][i]; g.p != want || g.id != results[0][i].id {
				t.Fatalf("number %d, worker %d: pseudonym %x id %d, want %x id %d", i, w, g.p, g.id, want, results[0][i].id)
			}
		}
		id := results[0][i].id
		if j, dup := seen[id]; dup || id < 1 || id > n {
			t.Fatalf("number %d has id %d (number %d has it too: %v)", i, id, j, dup)
		}
		seen[id] = i
	}
}
