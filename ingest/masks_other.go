//go:build !amd64

package ingest

// maskBlocks marks the bytes of data, whose length is a multiple of 64,
// in nl, quote and sp (see charMasks).
func maskBlocks(data []byte, sep byte, nl, quote, sp []uint64) {
	maskBlocksGo(data, sep, nl, quote, sp)
}
