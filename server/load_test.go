package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	ur "usagereport"
)

// TestShutdownFinishesDownloads: Shutdown stops new connections but lets a
// download in flight run to its last byte.
func TestShutdownFinishesDownloads(t *testing.T) {
	b := setup(t, nil)
	want := b.writeReport(t, orgA, ur.MonthOf(2026, 6), "parquet", 32<<20) // more than socket buffers hold
	c := b.client(t)
	req, _ := http.NewRequest("GET", b.url+"/v1/reports/2026-06.parquet", nil)
	req.Header.Set("Authorization", "Bearer "+b.tokA)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 1<<10)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- b.srv.Shutdown(ctx)
	}()
	// New connections are refused once the listener is closed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := b.client(t).Get(b.url + "/healthz")
		if err != nil {
			break
		}
		r.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 10s into Shutdown")
		}
		runtime.Gosched()
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a download unfinished", err)
	default:
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("download cut by Shutdown: %v", err)
	}
	if got := append(head, rest...); !bytes.Equal(got, want) {
		t.Errorf("download during Shutdown: %d bytes, want the file's %d", len(got), len(want))
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestLoad: 50 clients download a 10 MB report over loopback for 10 s.
// No request may fail, every body must be the file, and the heap must not
// grow with the number of downloads (the file is streamed, never held).
func TestLoad(t *testing.T) {
	const (
		clients  = 50
		duration = 10 * time.Second
		size     = 10 << 20
	)
	b := setup(t, nil)
	want := sha256.Sum256(b.writeReport(t, orgA, ur.MonthOf(2026, 5), "parquet", size))
	url := b.url + "/v1/reports/2026-05.parquet"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: time.Minute}
	get := func() (time.Duration, error) {
		start := time.Now()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+b.tokA)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != 200 || n != size || [32]byte(h.Sum(nil)) != want {
			return 0, fmt.Errorf("status %d, %d bytes, content equal %v", resp.StatusCode, n, [32]byte(h.Sum(nil)) == want)
		}
		return time.Since(start), nil
	}
	if _, err := get(); err != nil { // warm up: connections, page cache
		t.Fatal(err)
	}
	heapBefore := heapInUse()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      []error
		wg        sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(duration)
	for range clients {
		wg.Go(func() {
			for time.Now().Before(stop) {
				d, err := get()
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					latencies = append(latencies, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	tr.CloseIdleConnections()
	heapAfter := heapInUse()

	if len(errs) > 0 {
		t.Errorf("%d of %d downloads failed; first: %v", len(errs), len(errs)+len(latencies), errs[0])
	}
	slices.Sort(latencies)
	n := len(latencies)
	if n == 0 {
		t.Fatal("no download finished")
	}
	p := func(q float64) time.Duration { return latencies[min(n-1, int(q*float64(n)))] }
	mbps := float64(n) * size / (1 << 20) / elapsed.Seconds()
	t.Logf("%d clients, %v: %d downloads of 10 MiB, %.1f downloads/s, %.0f MiB/s; latency p50 %v, p99 %v, max %v; heap in use %.1f MiB before, %.1f MiB after",
		clients, elapsed.Round(time.Millisecond), n, float64(n)/elapsed.Seconds(), mbps,
		p(0.50).Round(time.Millisecond), p(0.99).Round(time.Millisecond), latencies[n-1].Round(time.Millisecond),
		float64(heapBefore)/(1<<20), float64(heapAfter)/(1<<20))
	// Flat: growth well under one file's size, whatever the number of
	// downloads (a server holding each file would grow by n x 10 MiB).
	if growth := int64(heapAfter) - int64(heapBefore); growth > 8<<20 {
		t.Errorf("heap in use grew by %.1f MiB over %d downloads", float64(growth)/(1<<20), n)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
