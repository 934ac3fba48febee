package main

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestWriteBehind(t *testing.T) {
	boom := errors.New("disk full")
	for _, tc := range []struct {
		name    string
		writers int
		items   int
		failAt  int // the item whose write fails; -1 for none
	}{
		{"one writer", 1, 50, -1},
		{"four writers", 4, 200, -1},
		{"no writers asked: one", 0, 10, -1},
		{"a write fails", 2, 100, 30},
		{"the first write fails", 3, 100, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			written := map[int]int{}
			var busy, most atomic.Int32
			release := make(chan struct{})
			wb := startWriteBehind(tc.writers, func(i int) error {
				n := busy.Add(1)
				defer busy.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				if i == tc.failAt {
					defer close(release)
					return boom
				}
				mu.Lock()
				written[i]++
				mu.Unlock()
				return nil
			})
			var putErr error
			put := 0
			for i := range tc.items {
				if putErr = wb.put(i); putErr != nil {
					break
				}
				put++
				if i == tc.failAt {
					<-release
					for wb.failed() == nil { // recorded just after the write returns
						runtime.Gosched()
					}
				}
			}
			err := wb.wait()
			for i, n := range written {
				if n != 1 {
					t.Errorf("item %d written %d times", i, n)
				}
			}
			if limit := int32(max(tc.writers, 1)); most.Load() > limit {
				t.Errorf("%d writes at once, want at most %d", most.Load(), limit)
			}
			if tc.failAt < 0 {
				if err != nil || putErr != nil || len(written) != tc.items {
					t.Errorf("wrote %d of %d, put error %v, wait error %v", len(written), tc.items, putErr, err)
				}
				return
			}
			if !errors.Is(err, boom) || !errors.Is(putErr, boom) {
				t.Errorf("wait: %v, put: %v; want %v from both", err, putErr, boom)
			}
			// Once a write failed, put refuses the next item, and nothing
			// after the failed one is written: the error says the run failed.
			if put != tc.failAt+1 {
				t.Errorf("put %d items, want %d: the one that failed and those before", put, tc.failAt+1)
			}
			for i := range written {
				if i >= tc.failAt {
					t.Errorf("item %d written after the failure at %d", i, tc.failAt)
				}
			}
		})
	}
}
