package embedded

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	ur "usagereport"
)

// The registry is DIR/orgs.json, mode 0600 (recipients are personal data),
// rewritten whole (writeJSON) under the store's lock: a reader
// sees the old file or the new one, and two writers never lose an update.
const orgsFile = "orgs.json"

// errMinGroupSize reports an override below the floor of 3 (0 means none).
var errMinGroupSize = errors.New("minimum group size must be 0 (none) or at least 3")

type orgsDoc struct {
	Orgs []orgEntry `json:"orgs"`
}

type orgEntry struct {
	Org          string   `json:"org"`
	Name         string   `json:"name"`
	AgreementEnd string   `json:"agreement_end,omitempty"` // YYYY-MM-DD
	Recipients   []string `json:"recipients,omitempty"`
	MinGroupSize int      `json:"min_group_size,omitempty"`
}

const dateLayout = "2006-01-02"

func (s *Store) readOrgs() ([]ur.OrgInfo, error) {
	var doc orgsDoc
	if _, err := readJSON(filepath.Join(s.dir, orgsFile), &doc); err != nil {
		return nil, err
	}
	out := make([]ur.OrgInfo, 0, len(doc.Orgs))
	for i, e := range doc.Orgs {
		org, err := ur.ParseOrgString(e.Org)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", orgsFile, i+1, err)
		}
		o := ur.OrgInfo{Org: org, Name: e.Name, Recipients: e.Recipients, MinGroupSize: e.MinGroupSize}
		if e.AgreementEnd != "" {
			if o.AgreementEnd, err = time.Parse(dateLayout, e.AgreementEnd); err != nil {
				return nil, fmt.Errorf("%s: entry %d: agreement end is not YYYY-MM-DD", orgsFile, i+1)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

func (s *Store) writeOrgs(orgs []ur.OrgInfo) error {
	slices.SortFunc(orgs, func(a, b ur.OrgInfo) int { return int(a.Org) - int(b.Org) })
	doc := orgsDoc{Orgs: make([]orgEntry, 0, len(orgs))}
	for _, o := range orgs {
		e := orgEntry{Org: o.Org.String(), Name: o.Name, Recipients: o.Recipients, MinGroupSize: o.MinGroupSize}
		if !o.AgreementEnd.IsZero() {
			e.AgreementEnd = o.AgreementEnd.Format(dateLayout)
		}
		doc.Orgs = append(doc.Orgs, e)
	}
	return writeJSON(filepath.Join(s.dir, orgsFile), doc, "  ")
}

// PutOrg adds the organisation or replaces its entry.
func (s *Store) PutOrg(ctx context.Context, o ur.OrgInfo) error {
	if o.MinGroupSize != 0 && o.MinGroupSize < 3 {
		return fmt.Errorf("put organisation %s: %w", o.Org, errMinGroupSize)
	}
	if _, err := ur.ParseOrgString(o.Org.String()); err != nil {
		return fmt.Errorf("put organisation: %w", err)
	}
	if !o.AgreementEnd.IsZero() {
		t := o.AgreementEnd
		o.AgreementEnd = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	if len(o.Recipients) == 0 {
		o.Recipients = nil
	}
	err := s.withLock(func() error {
		orgs, err := s.readOrgs()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(orgs, func(e ur.OrgInfo) bool { return e.Org == o.Org })
		if i >= 0 {
			orgs[i] = o
		} else {
			orgs = append(orgs, o)
		}
		return s.writeOrgs(orgs)
	})
	if err != nil {
		return fmt.Errorf("put organisation %s: %w", o.Org, err)
	}
	return nil
}

// Org returns the organisation's entry, or ur.ErrNotFound.
func (s *Store) Org(ctx context.Context, org ur.Org) (ur.OrgInfo, error) {
	orgs, err := s.readOrgs()
	if err != nil {
		return ur.OrgInfo{}, fmt.Errorf("organisation %s: %w", org, err)
	}
	for _, o := range orgs {
		if o.Org == org {
			return o, nil
		}
	}
	return ur.OrgInfo{}, fmt.Errorf("organisation %s: %w", org, ur.ErrNotFound)
}

// Orgs lists the registry by organisation number.
func (s *Store) Orgs(ctx context.Context) ([]ur.OrgInfo, error) {
	orgs, err := s.readOrgs()
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	slices.SortFunc(orgs, func(a, b ur.OrgInfo) int { return int(a.Org) - int(b.Org) })
	return orgs, nil
}

// RemoveOrg revokes the organisation's access tokens and deletes its entry
// (not its records: see DeleteOrg), or returns ur.ErrNotFound.
//
// Two files change, each atomically, under the store's lock: tokens.json
// first, then orgs.json. A crash between them leaves the organisation
// registered with its tokens revoked, and running the removal again
// finishes it; never the other way round, a removed organisation whose
// tokens still work.
func (s *Store) RemoveOrg(ctx context.Context, org ur.Org) error {
	err := s.withLock(func() error {
		orgs, err := s.readOrgs()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(orgs, func(e ur.OrgInfo) bool { return e.Org == org })
		if i < 0 {
			return ur.ErrNotFound
		}
		if err := s.revokeOrgTokensLocked(org); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return s.writeOrgs(slices.Delete(orgs, i, i+1))
	})
	if err != nil {
		return fmt.Errorf("remove organisation %s: %w", org, err)
	}
	return nil
}
