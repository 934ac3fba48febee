package main

import (
	"context"
	"fmt"

	ur "usagereport"
)

// withOrgNames gives the writers the registry's organisation names (`org add
// --name`), which the workbook shows in its title, page header and document
// properties. An organisation without a name shows its number alone.
func withOrgNames(ctx context.Context, reg ur.Registry, writers []reportWriter) ([]reportWriter, error) {
	infos, err := reg.Orgs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read organisation names: %w", err)
	}
	names := make(map[ur.Org]string, len(infos))
	for _, o := range infos {
		if o.Name != "" {
			names[o.Org] = o.Name
		}
	}
	out := make([]reportWriter, len(writers))
	for i, w := range writers {
		w.orgNames = names
		out[i] = w
	}
	return out, nil
}
