// Command usagereport ingests operators' usage exports and writes employers'
// monthly aggregate reports. Run "usagereport help" for the subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"
)

// envCPUProfile names a file to write a CPU profile of the run into, for
// measuring the hot paths (scripts/bench uses it).
const envCPUProfile = "USAGEREPORT_CPUPROFILE"

// envTrace names a file to write an execution trace of the run into (go
// tool trace), for seeing which goroutines wait on which.
const envTrace = "USAGEREPORT_TRACE"

// Stopping on a signal. SIGTERM or SIGINT ends the root context that every
// command runs under, with the signal as its cause; commands check it
// between organisations, files and before each write, and return. One that
// has not returned stopGrace after the signal (blocked in open(2) on a FIFO
// with no writer, deep in a computation) is ended by the process itself:
// every file the program writes goes to a temporary name first and is
// renamed whole, and every store commits a file's records at once, so
// stopping anywhere leaves nothing partial. Either way the exit code is
// 128 plus the signal's number: 130 for SIGINT, 143 for SIGTERM.
const (
	stopGrace = time.Second
	// maxShutdownTimeout bounds serve's wait for downloads in flight, to
	// stay within stopGrace.
	maxShutdownTimeout = 800 * time.Millisecond
)

func main() {
	os.Exit(runProcess(os.Args[1:], NewEnv()))
}

// runProcess runs Main as the whole process does: under a context that
// SIGTERM and SIGINT end, and within stopGrace of the signal.
func runProcess(args []string, e *Env) int {
	ctx, stop := signalContext(context.Background())
	defer stop()
	if path := os.Getenv(envCPUProfile); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(e.Stderr, "usagereport: cpu profile: %v\n", err)
			return ExitFailure
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv(envTrace); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(e.Stderr, "usagereport: trace: %v\n", err)
			return ExitFailure
		}
		if err := trace.Start(f); err != nil {
			fmt.Fprintf(e.Stderr, "usagereport: trace: %v\n", err)
			return ExitFailure
		}
		defer f.Close()
		defer trace.Stop()
	}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, args, e) }()
	var code int
	select {
	case code = <-done:
	case <-ctx.Done():
		select {
		case code = <-done:
		case <-time.After(stopGrace):
			fmt.Fprintf(e.Stderr, "usagereport: still running %v after the signal; stopping now\n", stopGrace)
		}
	}
	var sig signalled
	if errors.As(context.Cause(ctx), &sig) {
		fmt.Fprintf(e.Stderr, "usagereport: stopped by %v\n", sig)
		return 128 + int(sig.sig)
	}
	return code
}

// signalled is the cause of the root context's end on a signal.
type signalled struct{ sig syscall.Signal }

func (s signalled) Error() string {
	switch s.sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.sig.String()
}

// signalContext returns a context that the first SIGTERM or SIGINT ends,
// with a signalled cause. Later signals are caught and ignored: the
// process is stopping already, within stopGrace.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			cancel(signalled{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(context.Canceled)
	}
}
