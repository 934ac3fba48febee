//go:build benchprimary

package aggregate

// benchPrimaryOnly: this binary applies primary suppression only, and its
// reports are NOT safe to publish. It exists only for scripts/bench.
const benchPrimaryOnly = true
