package embedded

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	ur "usagereport"
)

// tokensFile is DIR/tokens.json: every token ever made, by hash.
type tokensFile struct {
	NextID int64        `json:"next_id"`
	Tokens []tokenEntry `json:"tokens"`
}

type tokenEntry struct {
	ID        int64     `json:"id"`
	Org       ur.Org    `json:"org"`
	Name      string    `json:"name"`
	SHA256    string    `json:"sha256"` // hex; the token itself is never stored
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

func (e tokenEntry) info() ur.TokenInfo {
	return ur.TokenInfo{ID: e.ID, Org: e.Org, Name: e.Name, CreatedAt: e.CreatedAt, RevokedAt: e.RevokedAt}
}

// attrLines is the log attribute key for a count of lines.
const attrLines = "lines"

func (s *Store) tokensPath() string { return filepath.Join(s.dir, "tokens.json") }
func (s *Store) auditPath() string  { return filepath.Join(s.dir, "audit.log") }

// readTokens reads tokens.json; a missing file is no tokens. It needs no
// lock: the file is only ever replaced whole, by a rename.
func (s *Store) readTokens() (tokensFile, error) {
	tf := tokensFile{NextID: 1}
	if _, err := readJSON(s.tokensPath(), &tf); err != nil {
		return tokensFile{}, err
	}
	return tf, nil
}

// updateTokens reads tokens.json, lets fn change it and writes it back
// atomically, all under the store's lock.
func (s *Store) updateTokens(fn func(*tokensFile) error) error {
	return s.withLock(func() error { return s.updateTokensLocked(fn) })
}

// updateTokensLocked is updateTokens for a caller that holds the lock.
func (s *Store) updateTokensLocked(fn func(*tokensFile) error) error {
	tf, err := s.readTokens()
	if err != nil {
		return err
	}
	if err := fn(&tf); err != nil {
		return err
	}
	return writeJSON(s.tokensPath(), tf, "\t")
}

// revokeOrgTokensLocked revokes every valid token of org. It runs under
// the lock.
func (s *Store) revokeOrgTokensLocked(org ur.Org) error {
	tf, err := s.readTokens()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(tf.Tokens, func(e tokenEntry) bool { return e.Org == org && e.RevokedAt.IsZero() }) {
		return nil // nothing to write
	}
	return s.updateTokensLocked(func(tf *tokensFile) error {
		now := time.Now().UTC().Truncate(time.Second)
		for i := range tf.Tokens {
			if tf.Tokens[i].Org == org && tf.Tokens[i].RevokedAt.IsZero() {
				tf.Tokens[i].RevokedAt = now
			}
		}
		return nil
	})
}

// CreateToken stores a token of org by its hash.
func (s *Store) CreateToken(ctx context.Context, org ur.Org, name string, hash []byte) (int64, error) {
	if len(hash) != 32 {
		return 0, fmt.Errorf("create token: the hash must be 32 bytes, got %d", len(hash))
	}
	var id int64
	err := s.updateTokens(func(tf *tokensFile) error {
		id = tf.NextID
		tf.NextID++
		tf.Tokens = append(tf.Tokens, tokenEntry{
			ID: id, Org: org, Name: name, SHA256: hex.EncodeToString(hash),
			CreatedAt: time.Now().UTC().Truncate(time.Second),
		})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("create token for %s: %w", org, err)
	}
	return id, nil
}

// TokenByHash returns the valid token with this hash, or ur.ErrNotFound.
//
// It compares the hash with every stored one in constant time and does not
// stop at a match, so the time taken says nothing about which or how many
// bytes matched. (The hash of an unguessable token leaks little anyway;
// this costs microseconds for the few tokens a store has.)
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (ur.TokenInfo, error) {
	tf, err := s.readTokens()
	if err != nil {
		return ur.TokenInfo{}, fmt.Errorf("look up token: %w", err)
	}
	var found tokenEntry
	match := 0
	for _, e := range tf.Tokens {
		want, err := hex.DecodeString(e.SHA256)
		if err != nil || len(want) != 32 {
			return ur.TokenInfo{}, fmt.Errorf("look up token: tokens.json: entry %d has a bad hash", e.ID)
		}
		if subtle.ConstantTimeCompare(want, hash) == 1 {
			found, match = e, 1
		}
	}
	if match == 0 || !found.RevokedAt.IsZero() {
		return ur.TokenInfo{}, fmt.Errorf("look up token: %w", ur.ErrNotFound)
	}
	return found.info(), nil
}

// ListTokens lists the tokens of org (all when 0), by id.
func (s *Store) ListTokens(ctx context.Context, org ur.Org) ([]ur.TokenInfo, error) {
	tf, err := s.readTokens()
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	var out []ur.TokenInfo
	for _, e := range tf.Tokens {
		if org == 0 || e.Org == org {
			out = append(out, e.info())
		}
	}
	return out, nil
}

// RevokeToken marks the token revoked; it stays listed.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	err := s.updateTokens(func(tf *tokensFile) error {
		for i := range tf.Tokens {
			if tf.Tokens[i].ID == id {
				if tf.Tokens[i].RevokedAt.IsZero() {
					tf.Tokens[i].RevokedAt = time.Now().UTC().Truncate(time.Second)
				}
				return nil
			}
		}
		return ur.ErrNotFound
	})
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

type auditLine struct {
	Time    time.Time `json:"time"`
	Org     ur.Org    `json:"org,omitzero"`
	Report  string    `json:"report,omitzero"`
	Outcome string    `json:"outcome"`
	Remote  string    `json:"remote"`
}

// AppendAudit appends one JSON line to DIR/audit.log and syncs it.
//
// One write(2) of the whole line on a file opened O_APPEND: the kernel
// places each write at the end, so lines from concurrent requests, or from
// two processes, never interleave, and no lock is needed. It syncs every
// event rather than batching: an audit log is evidence, and a download
// whose record a crash could lose would make it worthless. The cost is one
// fsync per download or sign-in; sign-ins and failures are rate limited,
// and a download costs far more than an fsync.
func (s *Store) AppendAudit(ctx context.Context, ev ur.AuditEvent) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("append audit event: %w", err)
		}
	}()
	b, err := json.Marshal(auditLine{Time: ev.Time.UTC(), Org: ev.Org, Report: ev.Report, Outcome: ev.Outcome, Remote: ev.Remote})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.auditPath(), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if torn, err := endsTorn(f); err != nil {
		f.Close()
		return err
	} else if torn {
		b = append([]byte{'\n'}, b...) // end the torn line, keep ours whole
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// endsTorn reports whether f's last line lacks its newline: a write a crash
// cut short. Two appenders may both see it and both end it; the empty line
// that makes is skipped by the reader.
func endsTorn(f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false, err
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], fi.Size()-1); err != nil {
		return false, err
	}
	return last[0] != '\n', nil
}

// AuditEvents reads the log. Lines a crash cut short (at the end, or ended
// by a later append) are skipped and counted in a warning; every whole line
// is a JSON object.
func (s *Store) AuditEvents(ctx context.Context, since time.Time) ([]ur.AuditEvent, error) {
	b, err := os.ReadFile(s.auditPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	var out []ur.AuditEvent
	torn := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			torn++
			continue
		}
		if l.Time.Before(since) {
			continue
		}
		out = append(out, ur.AuditEvent{Time: l.Time, Org: l.Org, Report: l.Report, Outcome: l.Outcome, Remote: l.Remote})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	if torn > 0 {
		s.logger.Warn("audit log has lines cut short by a crash; skipped", slog.Int(attrLines, torn))
	}
	return out, nil
}
