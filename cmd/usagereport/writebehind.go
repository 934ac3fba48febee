package main

import (
	"sync"
)

// writeBehind writes on a few goroutines of its own what the caller's
// workers have computed, so that a worker goes on to its next
// organisation while the last one's files and record are written and
// synced: each fsync waits for the disk, not for a core, and on a worker
// it would leave that core idle (an organisation's files and record take
// about eight fsyncs).
//
// put blocks while every writer is busy, so at most n items wait or are
// being written: memory stays bounded by the work in flight.
type writeBehind[T any] struct {
	queue chan T
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error // the first error of write; after it nothing more is written
}

// startWriteBehind starts n writers that call write for each item put.
func startWriteBehind[T any](n int, write func(T) error) *writeBehind[T] {
	w := &writeBehind[T]{queue: make(chan T)}
	for range max(n, 1) {
		w.wg.Go(func() {
			for v := range w.queue {
				if w.failed() != nil {
					continue
				}
				if err := write(v); err != nil {
					w.mu.Lock()
					if w.err == nil {
						w.err = err
					}
					w.mu.Unlock()
				}
			}
		})
	}
	return w
}

func (w *writeBehind[T]) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// put hands v to a writer. It returns the first error a write returned,
// if any, and then does not queue v.
func (w *writeBehind[T]) put(v T) error {
	if err := w.failed(); err != nil {
		return err
	}
	w.queue <- v
	return nil
}

// wait waits for every item put to be written (or passed over after an
// error) and returns the first error.
func (w *writeBehind[T]) wait() error {
	close(w.queue)
	w.wg.Wait()
	return w.failed()
}
