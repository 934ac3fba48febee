package export

import (
	"bytes"
	"io"
	"regexp"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"
)

const contentTypesPart = "[Content_Types].xml"

var defaultTypeRE = regexp.MustCompile(`<Default [^>]*>(</Default>)?`)

// sortDefaultTypes puts the content types' Default elements in order.
func sortDefaultTypes(b []byte) []byte {
	defaults := defaultTypeRE.FindAll(b, -1)
	slices.SortFunc(defaults, bytes.Compare)
	i := 0
	return defaultTypeRE.ReplaceAllFunc(b, func([]byte) []byte { i++; return defaults[i-1] })
}

// fastFlate keeps deflate writers for reuse, as archive/zip does for its
// default level: each holds a few hundred kilobytes of state.
var fastFlate sync.Pool

// getFlate returns a deflate writer at the fastest level onto w: a
// report's parts are a few kilobytes of repetitive XML, which it still
// shrinks about fivefold, and the default level spent a quarter of a
// workbook's time. klauspost/compress's is used, not compress/flate's: its
// fastest level takes about half the time on these parts (and is already
// a dependency, through the Parquet writer's zstd).
func getFlate(w io.Writer) *flate.Writer {
	if fw, ok := fastFlate.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	fw, _ := flate.NewWriter(w, flate.BestSpeed) // fails only for a bad level
	return fw
}
