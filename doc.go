// Package usagereport holds the domain types every stage of the pipeline shares:
// a minimised usage Record, the organisation number, the reporting Month, the
// exact Amount, the report Cell and the Store every store implements.
//
// A Record is minimised by construction: it has no field for a called party,
// a name, a device or a place, and the subscriber is a keyed Pseudonym, never
// the number. The root package imports nothing of this module.
package usagereport
