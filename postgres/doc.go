// Package postgres is the production store: a usagereport.Backend (records,
// publication records, the registry, retention, tokens, the audit log and
// the delivery ledger) on PostgreSQL, through pgx.
//
// Open applies the embedded migrations (migrations/*.sql) under an advisory
// lock, so instances may start side by side. The schema:
//
//	files            the ledger: one row per ingested file, sha256 unique, and
//	                 the content digest of its records unique (migration 0300)
//	records          minimised records, LIST-partitioned by month into
//	                 records_YYYY_MM, partitions made on demand, each
//	                 HASH-partitioned by org into 16 buckets records_YYYY_MM_hNN
//	                 (months made before migration 0600: one table)
//	report_runs,     a month's report workers: the run and one claim with a
//	report_claims    lease per organisation (migration 0600, claims.go)
//	orgs             the organisation registry
//	pseudonym_key    the store's own key, only if no key is given
//	key_fingerprint  the fingerprint of the key the records use
//	publications     publication records with their cells
//	tokens           download tokens, by hash only
//	audit_log        downloads, sign-ins, failures
//	deliveries       the delivery ledger: one row per report and recipient
//	schema_migrations
//
// A file goes in by COPY in binary (the charge as an integer with exponent
// -4, never a float or a string), in one transaction with its ledger row:
// all or nothing, and counted once even when two ingests of it race.
//
// The store never holds a phone number, a name, a called party or a time:
// a record is an organisation, a month, a 16-byte pseudonym, a cost centre,
// a service, a zone and three sums. Errors and logs name months, partitions
// and counts, never a value of a record, and never the connection URL's
// password.
//
//	s, err := postgres.Open(ctx, "postgres://usagereport@db/usage", logger)
//	if err != nil { ... }
//	defer s.Close()
//	w, err := s.BeginFile(ctx)
//	for each record { w.Add(&r) }
//	err = w.Commit(ctx, meta) // ur.ErrAlreadyIngested if seen before
package postgres
