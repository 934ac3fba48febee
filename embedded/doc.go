// Package embedded is the store that needs no server: a folder on disk.
//
// Layout:
//
//	DIR/FORMAT                    "usagereport embedded store v2" (v1: publication
//	                              records in two files; made v2 at the first one-file
//	                              record, so that older builds refuse the store)
//	DIR/pseudonym.key             the pseudonym key, hex, mode 0600
//	DIR/key.fingerprint           a fingerprint of the key the records use
//	DIR/lock                      flock: commits, purges and clean-up
//	DIR/ledger/<sha256>.json      one per ingested file: the commit point, with the
//	                              content digest of its records (a re-sent file is refused)
//	DIR/ledger.seq                the last ledger sequence given to a file
//	DIR/publications/<org>/YYYY-MM.vN.rec    a publication record (version N): its
//	                              entry as JSON, a newline, its cells (ur.EncodeCells)
//	DIR/publications/<org>/YYYY-MM.vN.json   a record of stores written before
//	DIR/publications/<org>/YYYY-MM.vN.cells  6 December 2026: entry, and cells
//	DIR/months/YYYY-MM/<sha256>.seg  the records of one file in one month
//	DIR/tmp/<id>/                 a file being ingested
//	DIR/orgs.json                 the organisation registry
//	DIR/tokens.json               download tokens, by hash only
//	DIR/audit.log                 downloads, sign-ins, failures, JSON Lines
//	DIR/deliveries/YYYY-MM.json   the delivery ledger of a month, mode 0600
//	DIR/deliveries/claimants/<id>.lock  flock: a sender that is alive
//
// A file's records are written aside under tmp/, then, under the lock,
// renamed into months/ and committed by writing its ledger entry last.
// Readers only read segments whose ledger entry exists, so a crash at any
// point leaves no partial file visible; the next Open removes the debris
// and the next ingest of the file completes it. One month is read without
// touching the others.
//
// The store holds minimised records only: pseudonyms, months, cost centres,
// services, zones and sums. It never holds a number, a name or a time.
package embedded
