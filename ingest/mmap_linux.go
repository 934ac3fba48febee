//go:build linux

package ingest

import (
	"os"

	"golang.org/x/sys/unix"
)

// canMap: ReadAll maps plain files on Linux (see mappedFile).
const canMap = true

// mmapFile maps n bytes of f from off read-only. MAP_POPULATE fills the
// window's page tables in the one call: a page fault for every 16 pages
// (the kernel's fault-around) would cost more.
func mmapFile(f *os.File, off int64, n int) ([]byte, error) {
	return unix.Mmap(int(f.Fd()), off, n, unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
}

func munmapFile(b []byte) { unix.Munmap(b) }

// adviseSequential asks the kernel to read ahead further: the file is
// read once, start to end.
func adviseSequential(f *os.File) {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}
