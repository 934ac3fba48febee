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
//	r, err := ingest.NewReader(f, "export.csv", pseudo)
//	for {
//		err := r.Read(&rec)
//		var rej *ingest.Rejection
//		switch {
//		case err == io.EOF: // done
//		case errors.As(err, &rej): // count it, go on
//		case err != nil: // the file is refused
//		}
//	}
package ingest
