package embedded

import (
	"sync"
	"testing"

	ur "usagereport"
	"usagereport/internal/deliverytest"
)

func TestDeliveries(t *testing.T) {
	deliverytest.Run(t, func() deliverytest.Opener {
		// Each subtest gets a folder; the opener's second call in a
		// subtest opens the same folder again, as a second process would.
		var mu sync.Mutex
		dirs := map[*testing.T]string{}
		return func(t *testing.T) ur.Deliveries {
			mu.Lock()
			dir, ok := dirs[t]
			if !ok {
				dir = t.TempDir()
				dirs[t] = dir
			}
			mu.Unlock()
			return openTest(t, dir)
		}
	}())
}
