//go:build benchprimary

package suppress

// benchPrimaryOnly: this binary applies primary suppression only, and its
// reports are NOT safe to publish. It exists only for scripts/bench.
const benchPrimaryOnly = true
