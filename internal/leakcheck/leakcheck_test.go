package leakcheck

import (
	"strings"
	"testing"
)

func TestCheckFindsALeftGoroutine(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("before any goroutine: %v", err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { leftRunning(stop); close(done) }()
	err := Check()
	close(stop)
	<-done
	if err == nil || !strings.Contains(err.Error(), "leftRunning") {
		t.Errorf("Check with a goroutine running = %v, want it named", err)
	}
	if err := Check(); err != nil {
		t.Errorf("after it stopped: %v", err)
	}
}

func leftRunning(stop chan struct{}) { <-stop }
