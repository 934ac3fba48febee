//go:build !linux

package ingest

import (
	"errors"
	"os"
)

// canMap: elsewhere than on Linux, ReadAll reads every file.
const canMap = false

func mmapFile(*os.File, int64, int) ([]byte, error) { return nil, errors.ErrUnsupported }

func munmapFile([]byte) {}

func adviseSequential(*os.File) {}
