//go:build !benchprimary

package suppress

// benchPrimaryOnly is false in every build of the product. Only the
// benchmark's second binary (go build -tags benchprimary, see
// scripts/bench) sets it, to time the job with primary suppression alone:
// the baseline that the cost of the other rules is measured against.
const benchPrimaryOnly = false
