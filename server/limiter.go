package server

import (
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// limiter rate-limits by key with a token bucket: burst attempts, then one
// more every interval. The server keeps three: failed authentications per
// client address (an attempt takes a token before the credential is
// checked and a success gives it back, so that parallel guesses cannot
// overrun the bucket), and successful sign-ins per client address and per
// token (a success keeps its token, so that one token holder cannot fill
// the session table).
//
// The map is bounded. When full, buckets that have refilled are dropped
// first (a full bucket is the same as none); if every bucket is still in
// use, an arbitrary one is dropped. That gives one address a fresh bucket,
// which an attacker with that many addresses has anyway.
type limiter[K comparable] struct {
	mu      sync.Mutex
	buckets map[K]bucket
	burst   float64
	every   time.Duration
	max     int
	now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter[K comparable](burst int, every time.Duration, max int, now func() time.Time) *limiter[K] {
	return &limiter[K]{buckets: map[K]bucket{}, burst: float64(burst), every: every, max: max, now: now}
}

// clientKey is the address a request is limited by: the peer's IP address,
// an IPv6 one cut to its /64 (one host usually holds the whole /64).
// Headers such as X-Forwarded-For are not trusted: anyone can set them.
func clientKey(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	return a
}

// refilled returns b brought up to now.
func (l *limiter[K]) refilled(b bucket, now time.Time) bucket {
	if l.every > 0 {
		b.tokens += float64(now.Sub(b.at)) / float64(l.every)
	}
	b.tokens = min(b.tokens, l.burst)
	b.at = now
	return b
}

// take takes a token for an attempt from key's bucket. When it is empty it
// returns false and how long until the next token.
func (l *limiter[K]) take(key K) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		b = bucket{tokens: l.burst, at: now}
		l.makeRoom(now)
	}
	b = l.refilled(b, now)
	if b.tokens < 1 {
		l.buckets[key] = b
		return false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	l.buckets[key] = b
	return true, 0
}

// giveBack returns the token of a successful attempt.
func (l *limiter[K]) giveBack(key K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		b.tokens = min(b.tokens+1, l.burst)
		l.buckets[key] = b
	}
}

// makeRoom drops buckets until a new one fits. It runs under l.mu.
func (l *limiter[K]) makeRoom(now time.Time) {
	if len(l.buckets) < l.max {
		return
	}
	for k, b := range l.buckets {
		if l.refilled(b, now).tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < l.max {
			break
		}
		delete(l.buckets, k)
	}
}

func (l *limiter[K]) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
