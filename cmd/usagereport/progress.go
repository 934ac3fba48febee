package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"usagereport/internal/humansize"
)

// progress draws a one-line bar on a terminal while long work runs; it
// draws nothing when Stderr is not a terminal. It shows a file's name and
// how far it is read, or how many rows or organisations are done, never
// any of the content.
type progress struct {
	w     io.Writer
	label string
	total int64
	// unit is "" for bytes; else what n counts ("rows", "organisations").
	unit string
	// n counts bytes or units done; started counts units begun (an
	// organisation suppressed, not yet written), when the work has two
	// steps.
	n, started atomic.Int64
	steps      [2]string // the two steps' names, when started is used
	start      time.Time
	stop       chan struct{}
	wg         sync.WaitGroup
}

// startProgress draws how many bytes of total (0: unknown) are read.
func startProgress(e *Env, label string, total int64) *progress {
	return e.startProgress(&progress{label: label, total: total})
}

// startCounter draws how many of total (0: unknown) units are done.
func startCounter(e *Env, label, unit string, total int64) *progress {
	return e.startProgress(&progress{label: label, total: total, unit: unit})
}

// startSteps draws how many of total units have begun (first) and ended
// (second), e.g. organisations suppressed and written.
func startSteps(e *Env, label, unit, first, second string, total int64) *progress {
	return e.startProgress(&progress{label: label, total: total, unit: unit, steps: [2]string{first, second}})
}

func (e *Env) startProgress(p *progress) *progress {
	p.w, p.start, p.stop = e.Stderr, time.Now(), make(chan struct{})
	if !e.Progress {
		return p
	}
	every := e.ProgressInterval
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				// The last state, then the line cleared for what follows.
				p.draw()
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
	secs := max(time.Since(p.start).Seconds(), 1e-9)
	switch {
	case p.unit == "" && p.total <= 0:
		fmt.Fprintf(p.w, "\r\033[K%s  %s  %s/s", p.label, humansize.Decimal(n, "B"), humansize.Decimal(int64(float64(n)/secs), "B"))
	case p.unit == "":
		fmt.Fprintf(p.w, "\r\033[K%s %s %3.0f%%  %s/s", p.label, bar(n, p.total), 100*frac(n, p.total), humansize.Decimal(int64(float64(n)/secs), "B"))
	case p.total <= 0:
		fmt.Fprintf(p.w, "\r\033[K%s  %s %s  %s %s/s", p.label, humanCount(n), p.unit, humanCount(int64(float64(n)/secs)), p.unit)
	case p.steps[0] != "":
		fmt.Fprintf(p.w, "\r\033[K%s %s %s %d/%d, %s %d/%d %s", p.label, bar(n, p.total),
			p.steps[0], p.started.Load(), p.total, p.steps[1], n, p.total, p.unit)
	default:
		fmt.Fprintf(p.w, "\r\033[K%s %s %d/%d %s", p.label, bar(n, p.total), n, p.total, p.unit)
	}
}

func frac(n, total int64) float64 { return min(float64(n)/float64(total), 1) }

// bar is a 30-character bar n/total full.
func bar(n, total int64) string {
	const width = 30
	b := make([]byte, width)
	for i := range b {
		b[i] = ' '
		if float64(i) < frac(n, total)*width {
			b[i] = '#'
		}
	}
	return "[" + string(b) + "]"
}

// humanCount is a count in thousands or millions: 950, 12.3 k, 4.5 M.
func humanCount(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1f k", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f M", float64(n)/1e6)
}

// add counts n more bytes or units done.
func (p *progress) add(n int64) { p.n.Add(n) }

// begin counts one more unit begun.
func (p *progress) begin() { p.started.Add(1) }

func (p *progress) done() {
	close(p.stop)
	p.wg.Wait()
}
