package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress draws a one-line bar on a terminal while long work runs; it
// draws nothing when Stderr is not a terminal. It shows a file's name and
// how far it is read, never any of its content.
type progress struct {
	w     io.Writer
	label string
	total int64
	n     atomic.Int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startProgress(e *Env, label string, total int64) *progress {
	p := &progress{w: e.Stderr, label: label, total: total, start: time.Now(), stop: make(chan struct{})}
	if !e.Progress {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprintf(p.w, "\r\033[K")
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) draw() {
	n := p.n.Load()
	secs := time.Since(p.start).Seconds()
	rate := float64(n) / 1e6 / max(secs, 1e-9)
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r\033[K%s  %.0f MB  %.0f MB/s", p.label, float64(n)/1e6, rate)
		return
	}
	frac := min(float64(n)/float64(p.total), 1)
	const width = 30
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if float64(i) < frac*width {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.w, "\r\033[K%s [%s] %3.0f%%  %.0f MB/s", p.label, bar, frac*100, rate)
}

// reader wraps r so that what is read moves the bar.
func (p *progress) reader(r io.Reader) io.Reader { return countingReader{r, &p.n} }

func (p *progress) done() {
	close(p.stop)
	p.wg.Wait()
}
