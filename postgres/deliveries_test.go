package postgres

import (
	"context"
	"sync"
	"testing"

	ur "usagereport"
	"usagereport/internal/deliverytest"
)

// TestDeliveries runs the ledger suite; a subtest's second handle is a
// second Store on the same database, as a second process would have.
func TestDeliveries(t *testing.T) {
	var mu sync.Mutex
	urls := map[*testing.T]string{}
	deliverytest.Run(t, func(t *testing.T) ur.Deliveries {
		mu.Lock()
		url, ok := urls[t]
		if !ok {
			url = mustURL(t)
			urls[t] = url
		}
		mu.Unlock()
		s, err := Open(context.Background(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
