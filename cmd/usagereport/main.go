// Command usagereport ingests operators' usage exports and writes employers'
// monthly aggregate reports. Run "usagereport help" for the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], NewEnv())
	stop()
	os.Exit(code)
}
