package usagereport

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// TokenLen is the length of an access token's text: 32 random bytes
// (256 bits) in unpadded base64url.
const TokenLen = 43

// TokenInfo describes one access token. The token itself is never stored,
// only its TokenHash.
type TokenInfo struct {
	ID        int64
	Org       Org
	Name      string // a label for people, e.g. "finance"
	CreatedAt time.Time
	RevokedAt time.Time // zero while the token is valid
}

// Tokens keeps the access tokens with which an organisation downloads its
// reports. Both stores implement it.
type Tokens interface {
	// CreateToken stores a token of org by its hash (32 bytes, TokenHash)
	// and returns its id.
	CreateToken(ctx context.Context, org Org, name string, hash []byte) (int64, error)
	// TokenByHash returns the valid token with this hash. A revoked or
	// unknown token is ErrNotFound: callers cannot tell them apart, and
	// need not.
	TokenByHash(ctx context.Context, hash []byte) (TokenInfo, error)
	// ListTokens lists the tokens of org, or of every organisation when org
	// is 0, revoked ones included, by id.
	ListTokens(ctx context.Context, org Org) ([]TokenInfo, error)
	// RevokeToken revokes the token; ErrNotFound if there is no such id.
	// Revoking a revoked token is no error and keeps the first time.
	RevokeToken(ctx context.Context, id int64) error
}

// NewToken returns a new random token: 256 bits from crypto/rand, TokenLen
// characters of base64url.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidTokenText reports whether s has the form of a token, so that a
// malformed one is refused before any hashing or lookup.
func ValidTokenText(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 32
}

// TokenHash returns the hash a store keeps of token.
//
// A single SHA-256, not a password hash (bcrypt, argon2): a token is 256
// random bits, so nobody can guess one from its hash however fast the hash
// is; slow hashes exist for low-entropy passwords. A fast hash also lets
// every request be authenticated without a costly key derivation, and a
// store can look a token up by its hash in an index.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Audit outcomes.
const (
	OutcomeDownloaded  = "downloaded"   // the whole file or a range was sent
	OutcomeNotModified = "not modified" // a conditional request answered 304
	OutcomeNotFound    = "not found"    // no such report for this organisation
	OutcomeFailedAuth  = "failed authentication"
	OutcomeSignedIn    = "signed in" // a token was exchanged for a page session
	// OutcomeOrgNotServed is a valid token of an organisation the registry
	// no longer has, or whose agreement ended past retention: refused.
	OutcomeOrgNotServed = "organisation not served"
)

// AuditEvent is one entry of the audit log: a download, a sign-in, a failed
// authentication, or a refused organisation.
type AuditEvent struct {
	Time    time.Time
	Org     Org    // 0 when no token was accepted
	Report  string // the report's file name, "" when none was named validly
	Outcome string // one of the Outcome constants, or "status NNN"
	Remote  string // the client's IP address
}

// AuditLog keeps the audit log. Both stores implement it; entries are only
// ever appended.
type AuditLog interface {
	AppendAudit(ctx context.Context, ev AuditEvent) error
	// AuditEvents returns the events at or after since, oldest first.
	AuditEvents(ctx context.Context, since time.Time) ([]AuditEvent, error)
}
