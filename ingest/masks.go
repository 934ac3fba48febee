package ingest

import "math/bits"

// charMasks marks where a chunk holds the bytes that cut it: bit k of
// word w of nl, quote and sep is set when byte 64w+k is a line end, a
// quote or the field separator. The parallel reader's workers build them
// once for a chunk, in one pass over its bytes (with AVX2 where the
// processor has it, 64 bytes at a time), and then find each row's end,
// whether it holds a quote, and where its fields end by reading bits,
// where they searched the row's bytes three times (its line end, a quote,
// its separators).
type charMasks struct {
	nl, quote, sep []uint64
	// A worker builds a chunk's masks a window at a time, just ahead of
	// the rows it cuts (see start and extend), so that the bytes it marks
	// are still in the cache when it cuts and checks their rows: marked
	// all at once, a chunk and its masks (700 KiB) pushed the validator's
	// memos out of the cache before the first row was cut.
	data   []byte
	sepc   byte
	built  int // words of nl, quote and sep built
	window int // words extend builds at a time; 0 for maskWindow (tests make it small)
}

// maskWindow is how many words extend builds at a time: 32 KiB of input.
const maskWindow = 512

// build marks data's bytes, for separator sep.
func (m *charMasks) build(data []byte, sep byte) {
	m.start(data, sep)
	m.buildAll()
}

// start makes room to mark data's bytes, for separator sep, and marks
// none yet: extend and buildAll do.
func (m *charMasks) start(data []byte, sep byte) {
	words := (len(data) + 63) / 64
	m.nl = grow(m.nl, words)
	m.quote = grow(m.quote, words)
	m.sep = grow(m.sep, words)
	m.data, m.sepc, m.built = data, sep, 0
}

// extend builds the masks' words from the first not built to at least
// word w (one before the end at most), a window or more of them.
func (m *charMasks) extend(w int) {
	win := m.window
	if win == 0 {
		win = maskWindow
	}
	m.buildTo(min(max(w+1, m.built+win), len(m.nl)))
}

// buildAll builds every word of the masks.
func (m *charMasks) buildAll() { m.buildTo(len(m.nl)) }

// buildTo builds the masks' words up to word to (excluded).
func (m *charMasks) buildTo(to int) {
	from := m.built
	if to <= from {
		return
	}
	m.built = to
	full := min(to, len(m.data)/64) // whole blocks of 64 bytes
	if full > from {
		maskBlocks(m.data[from*64:full*64], m.sepc, m.nl[from:full], m.quote[from:full], m.sep[from:full])
	}
	if full == to {
		return
	}
	// The last word, of fewer bytes.
	sep := m.sepc
	var nl, quote, sp uint64
	for k, c := range m.data[full*64:] {
		bit := uint64(1) << k
		switch c {
		case '\n':
			nl |= bit
		case '"':
			quote |= bit
		}
		if c == sep {
			sp |= bit
		}
	}
	m.nl[full], m.quote[full], m.sep[full] = nl, quote, sp
}

func grow(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	return s[:n]
}

// maskBlocksGo is maskBlocks without AVX2: 8 bytes at a time, as cutSep
// reads them.
func maskBlocksGo(data []byte, sep byte, nl, quote, sp []uint64) {
	const ones = 0x0101010101010101
	for w := range len(data) / 64 {
		var n, q, s uint64
		for j := range 8 {
			x := le64(data[64*w+8*j:])
			n |= sepBits(x, '\n'*ones) << (8 * j)
			q |= sepBits(x, '"'*ones) << (8 * j)
			s |= sepBits(x, uint64(sep)*ones) << (8 * j)
		}
		nl[w], quote[w], sp[w] = n, q, s
	}
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// nextBit returns the first marked position in [from, to) of set, or -1.
func nextBit(set []uint64, from, to int) int {
	if from >= to {
		return -1
	}
	w, last := from>>6, (to-1)>>6
	m := set[w] &^ (1<<(from&63) - 1)
	for {
		if m != 0 {
			if p := w<<6 + bits.TrailingZeros64(m); p < to {
				return p
			}
			return -1
		}
		if w == last {
			return -1
		}
		w++
		m = set[w]
	}
}

// prefixXor returns x with bit k the parity of x's bits 0 to k: with x a
// word's quotes, the positions inside quotes (and their opening quotes).
func prefixXor(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	x ^= x << 32
	return x
}
