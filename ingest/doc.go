// Package ingest reads operators' usage exports (CSV v1) into minimised
// records, at the boundary where personal data is dropped.
//
// Only the allowlisted columns of usage-csv-v1 are ever copied out of the
// read buffer: every other column, known (b_number, b_name, user_name, imei,
// ...) or unknown, is skipped byte by byte and never stored, logged or put
// in an error. The subscriber's number becomes a keyed pseudonym (HMAC-SHA256)
// here and nowhere else, and a start time becomes its Europe/Oslo month.
//
// Other operators' exports are read through a mapping Profile (TOML): CSV
// with another separator, encoding, decimal comma or local times, JSON
// Lines, or Parquet. A profile maps source columns onto the same kept
// fields and every format goes through the one Validator: the mapping is
// the allowlist, and an unmapped column is dropped like any other.
//
// A bad row is rejected with its file, line, column and reason, never its
// content, and reading goes on; a file that is not CSV v1 at all is refused.
//
//	pseudo, err := ingest.NewPseudonymizer(key) // the store's key
//	oslo, err := ingest.NewOslo()                // Europe/Oslo, for months
//	r, err := ingest.NewReader(f, "export.csv", pseudo, oslo)
//	var rec usagereport.Record
//	for {
//		err := r.Read(&rec)
//		var rej *ingest.Rejection
//		if err == io.EOF {
//			break // done
//		} else if errors.As(err, &rej) {
//			continue // count it, go on
//		} else if err != nil {
//			return err // the file is refused
//		}
//		// use rec
//	}
//
// File does this into a store, with the parallel reader, and accounts for
// every line: Result.Read = Rows + Rejected.
package ingest
