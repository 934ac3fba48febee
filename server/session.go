package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	ur "usagereport"
)

// sessions keeps the page's sign-ins in memory: a restart signs everyone
// out, which is acceptable for a page used once a month.
//
// The cookie holds a random 256-bit session id; the map is keyed by its
// SHA-256, so neither a map lookup's timing nor a memory dump gives away a
// usable cookie. A session remembers the hash of the token it was made
// from, and every request checks that token again, so revoking a token
// ends its sessions at once.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]session
	ttl time.Duration
	max int
	now func() time.Time
}

type session struct {
	tokenHash []byte
	org       ur.Org
	expires   time.Time
}

func newSessions(ttl time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]session{}, ttl: ttl, max: max, now: now}
}

// create starts a session and returns the cookie value.
func (s *sessions) create(tokenHash []byte, org ur.Org) string {
	var id [32]byte
	rand.Read(id[:])
	v := base64.RawURLEncoding.EncodeToString(id[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.m) >= s.max {
		s.evict(now)
	}
	s.m[sha256.Sum256([]byte(v))] = session{tokenHash: tokenHash, org: org, expires: now.Add(s.ttl)}
	return v
}

// evict drops expired sessions, then, if still full, the one closest to
// expiry. It runs under s.mu.
func (s *sessions) evict(now time.Time) {
	var oldest [32]byte
	var oldestAt time.Time
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
			continue
		}
		if oldestAt.IsZero() || v.expires.Before(oldestAt) {
			oldest, oldestAt = k, v.expires
		}
	}
	if len(s.m) >= s.max {
		delete(s.m, oldest)
	}
}

// get returns the live session of a cookie value.
func (s *sessions) get(v string) (session, bool) {
	if !ur.ValidTokenText(v) { // same form as a token: 32 bytes base64url
		return session{}, false
	}
	k := sha256.Sum256([]byte(v))
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.m[k]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(se.expires) {
		delete(s.m, k)
		return session{}, false
	}
	return se, true
}

func (s *sessions) delete(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(v)))
}

func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
