// Command usagereport ingests operators' usage exports and writes employers'
// monthly aggregate reports. Run "usagereport help" for the subcommands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// envCPUProfile names a file to write a CPU profile of the run into, for
// measuring the hot paths (scripts/bench uses it).
const envCPUProfile = "USAGEREPORT_CPUPROFILE"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if path := os.Getenv(envCPUProfile); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "usagereport: cpu profile: %v\n", err)
			os.Exit(ExitFailure)
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	code := Main(ctx, os.Args[1:], NewEnv())
	pprof.StopCPUProfile()
	stop()
	os.Exit(code)
}
