package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
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
//
// One organisation's sign-ins can never end another's session: each
// organisation has at most maxOrg sessions, and a new one evicts that
// organisation's oldest. When the whole table is full of live sessions
// (max), a new sign-in is refused instead (errSessionsFull): evicting
// someone else's would let one token holder sign everybody out.
type sessions struct {
	mu     sync.Mutex
	m      map[[32]byte]session
	byOrg  map[ur.Org][][32]byte // session keys, oldest first
	ttl    time.Duration
	max    int
	maxOrg int
	now    func() time.Time
}

type session struct {
	tokenHash []byte
	org       ur.Org
	expires   time.Time
}

// errSessionsFull reports a session table full of other organisations'
// live sessions.
var errSessionsFull = errors.New("the session table is full")

func newSessions(ttl time.Duration, max, maxOrg int, now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]session{}, byOrg: map[ur.Org][][32]byte{}, ttl: ttl, max: max, maxOrg: maxOrg, now: now}
}

// create starts a session and returns the cookie value. It evicts org's
// oldest session when org has maxOrg already, and expired sessions of any
// organisation when the table is full; nothing else.
func (s *sessions) create(tokenHash []byte, org ur.Org) (string, error) {
	var id [32]byte
	rand.Read(id[:])
	v := base64.RawURLEncoding.EncodeToString(id[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if keys := s.byOrg[org]; len(keys) >= s.maxOrg {
		for _, k := range slices.Clone(keys[:len(keys)-s.maxOrg+1]) {
			s.remove(k)
		}
	}
	if len(s.m) >= s.max {
		s.dropExpired(now)
		if len(s.m) >= s.max {
			return "", errSessionsFull
		}
	}
	k := sha256.Sum256([]byte(v))
	s.m[k] = session{tokenHash: tokenHash, org: org, expires: now.Add(s.ttl)}
	s.byOrg[org] = append(s.byOrg[org], k)
	return v, nil
}

// dropExpired drops every expired session. It runs under s.mu.
func (s *sessions) dropExpired(now time.Time) {
	for k, v := range s.m {
		if !now.Before(v.expires) {
			s.remove(k)
		}
	}
}

// remove drops one session. It runs under s.mu.
func (s *sessions) remove(k [32]byte) {
	se, ok := s.m[k]
	if !ok {
		return
	}
	delete(s.m, k)
	keys := s.byOrg[se.org]
	if i := slices.Index(keys, k); i >= 0 {
		keys = slices.Delete(keys, i, i+1)
	}
	if len(keys) == 0 {
		delete(s.byOrg, se.org)
	} else {
		s.byOrg[se.org] = keys
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
		s.remove(k)
		return session{}, false
	}
	return se, true
}

func (s *sessions) delete(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(sha256.Sum256([]byte(v)))
}

// endOrg ends every session of org: it was removed from the registry.
func (s *sessions) endOrg(org ur.Org) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range slices.Clone(s.byOrg[org]) {
		s.remove(k)
	}
}

func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
