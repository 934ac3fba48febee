// Package leakcheck fails a test binary whose tests passed but left
// goroutines running: a server, scheduler, sender or parallel reader that
// does not stop when told is a bug the tests would otherwise pass over.
// It does what goleak.VerifyTestMain does, in a few lines rather than a
// module: compare runtime.Stack of every goroutine against the test
// runner's and the runtime's own.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Run runs the tests and then, when they passed, Check. It returns the
// exit code for os.Exit: 1 when goroutines were left.
func Run(m *testing.M) int {
	code := m.Run()
	if code == 0 {
		if err := Check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

// Check returns an error listing the goroutines running besides the
// caller, the test runner's and the runtime's. Goroutines may take a
// moment to wind down after what they served closed, so it looks again
// for about two seconds before it reports them.
func Check() error {
	var left []string
	for range 100 {
		left = left[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 || benign(g) { // 0 is this goroutine
				continue
			}
			left = append(left, g)
		}
		if len(left) == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("goroutines left running after the tests:\n\n%s", strings.Join(left, "\n\n"))
}

func benign(stack string) bool {
	for _, s := range []string{
		"testing.(*M).", "testing.RunTests", "testing.(*T).Run", "testing.runFuzzing",
		"os/signal.signal_recv", "os/signal.loop", "runtime.ensureSigM",
		"runtime.goexit0", "created by runtime.gc", "runtime.MHeap_Scavenger",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}
