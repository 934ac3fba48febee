package ingest

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzMasks holds charMasks, with AVX2 where the processor has it, and
// without, to the bytes they mark.
func FuzzMasks(f *testing.F) {
	f.Add([]byte("a,\"b\"\n,c\r\n"), byte(','))
	f.Add(make([]byte, 200), byte(';'))
	f.Add([]byte("\n\n\n\"\"\",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n\"\"\""), byte(','))
	f.Fuzz(func(t *testing.T, data []byte, sep byte) {
		var m charMasks
		m.build(data, sep)
		var g charMasks
		g.nl, g.quote, g.sep = grow(nil, len(m.nl)), grow(nil, len(m.nl)), grow(nil, len(m.nl))
		full := len(data) / 64 * 64
		maskBlocksGo(data[:full], sep, g.nl, g.quote, g.sep)
		for i, c := range data {
			w, bit := i/64, uint64(1)<<(i%64)
			for _, k := range []struct {
				name string
				set  []uint64
				want bool
			}{{"nl", m.nl, c == '\n'}, {"quote", m.quote, c == '"'}, {"sep", m.sep, c == sep}} {
				if got := k.set[w]&bit != 0; got != k.want {
					t.Fatalf("byte %d (%q): %s bit %v, want %v", i, c, k.name, got, k.want)
				}
			}
			if i < full && (g.nl[w]&bit != 0) != (c == '\n') || i < full && (g.quote[w]&bit != 0) != (c == '"') || i < full && (g.sep[w]&bit != 0) != (c == sep) {
				t.Fatalf("byte %d (%q): maskBlocksGo wrong", i, c)
			}
		}
		// Built a window at a time, as a worker builds them, over masks
		// that held another chunk's.
		var x charMasks
		x.build(bytes.Repeat([]byte{'\n'}, len(data)+64), sep)
		x.start(data, sep)
		x.window = int(sep%3) + 1
		for w := 0; w < len(m.nl); w = x.built {
			x.extend(w)
		}
		if !slices.Equal(x.nl, m.nl) || !slices.Equal(x.quote, m.quote) || !slices.Equal(x.sep, m.sep) {
			t.Fatalf("masks built a window at a time differ from those built whole")
		}
		if rem := len(data) % 64; rem > 0 {
			last := len(m.nl) - 1
			if (m.nl[last]|m.quote[last]|m.sep[last])>>rem != 0 {
				t.Fatalf("bits past the end of data")
			}
		}
	})
}

// TestNextBit checks nextBit against a walk over the bits.
func TestNextBit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	set := make([]uint64, 5)
	for range 2000 {
		for i := range set {
			set[i] = r.Uint64() & r.Uint64() & r.Uint64() & r.Uint64()
			if r.IntN(3) == 0 {
				set[i] = 0
			}
		}
		from, to := r.IntN(321), r.IntN(321)
		want := -1
		for p := from; p < to; p++ {
			if set[p/64]&(1<<(p%64)) != 0 {
				want = p
				break
			}
		}
		if got := nextBit(set, from, to); got != want {
			t.Fatalf("nextBit(%x, %d, %d) = %d, want %d", set, from, to, got, want)
		}
	}
}
