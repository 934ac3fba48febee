package ingest

import "golang.org/x/sys/cpu"

// maskBlocks marks the bytes of data, whose length is a multiple of 64,
// in nl, quote and sp (see charMasks).
func maskBlocks(data []byte, sep byte, nl, quote, sp []uint64) {
	if n := len(data) / 64; n > 0 && cpu.X86.HasAVX2 {
		_, _, _ = nl[n-1], quote[n-1], sp[n-1]
		maskBlocksAVX2(&data[0], n, sep, &nl[0], &quote[0], &sp[0])
		return
	}
	maskBlocksGo(data, sep, nl, quote, sp)
}

// maskBlocksAVX2 marks blocks blocks of 64 bytes from data.
//
//go:noescape
func maskBlocksAVX2(data *byte, blocks int, sep byte, nl, quote, sp *uint64)
