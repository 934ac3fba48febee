package main

import (
	"fmt"
	"log/slog"
	"strings"

	ur "usagereport"
	"usagereport/suppress"
)

// Log attribute keys of the report run.
const (
	logKeyOrg   = "org"
	logKeyMonth = "month"
	logKeyError = "error"
)

// orgOutcome is how one organisation's report went, beyond its numbers:
// made by the fallback pattern, or not made at all.
type orgOutcome struct {
	fallback bool
	given    suppress.GivenBack
	err      error // the report could not be made
}

// orgFailed logs that org's report could not be made and returns the
// outcome that says so. The run goes on with the other organisations.
func orgFailed(e *Env, org ur.Org, m ur.Month, err error) orgOutcome {
	e.Logger.Warn("no report for this organisation: its cube could not be made; the other organisations go on",
		slog.String(logKeyOrg, org.String()), slog.String(logKeyMonth, m.String()), slog.String(logKeyError, err.Error()))
	return orgOutcome{err: err}
}

// cubeOutcome logs a cube made by the fallback pattern and returns its
// outcome.
func cubeOutcome(e *Env, c *suppress.Cube) orgOutcome {
	if c.Fallback {
		e.Logger.Warn("the pattern search failed the audit: the report hides every cell but the organisation's total (the fallback pattern)",
			slog.String(logKeyOrg, c.Org.String()), slog.String(logKeyMonth, c.Month.String()))
	}
	return orgOutcome{fallback: c.Fallback, given: c.GivenBack}
}

// runOutcomes collects the outcomes of a run's organisations, in
// organisation order.
type runOutcomes struct {
	failed, fallback []ur.Org
	given            suppress.GivenBack
}

func (r *runOutcomes) add(org ur.Org, o orgOutcome) {
	switch {
	case o.err != nil:
		r.failed = append(r.failed, org)
	case o.fallback:
		r.fallback = append(r.fallback, org)
	}
	r.given.Add(o.given)
}

// failedSuffix ends the run's count line: ", F failed" when some did.
func (r *runOutcomes) failedSuffix() string {
	if len(r.failed) == 0 {
		return ""
	}
	return fmt.Sprintf(", %d failed", len(r.failed))
}

// summary prints the organisations that fell back or failed, and returns
// the error that makes the run exit 1 when some failed: only after every
// other organisation's report is written and the summary printed.
func (r *runOutcomes) summary(e *Env, m ur.Month) error {
	if len(r.fallback) > 0 {
		fmt.Fprintf(e.Stdout, "%s: %s got the fallback pattern (every cell hidden but the organisation's total): %s\n",
			m, plural(int64(len(r.fallback)), "organisation", "organisations"), orgNames(r.fallback))
	}
	if len(r.failed) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s failed, every other report written: %s",
		m, plural(int64(len(r.failed)), "organisation", "organisations"), orgNames(r.failed))
}

func orgNames(orgs []ur.Org) string {
	s := make([]string, len(orgs))
	for i, o := range orgs {
		s[i] = o.String()
	}
	return strings.Join(s, ", ")
}
