package throttle

import (
	"context"
	"errors"
	"io/fs"
	"os"
)

// FlagFile throttles the copy while a file exists: 1 when it exists, 0
// when it does not (its Max is 0). Any other stat error is an error, and
// so pauses the copy too.
type FlagFile struct{ path string }

// NewFlagFile watches path.
func NewFlagFile(path string) *FlagFile { return &FlagFile{path: path} }

// Name is "flag file <path>".
func (p *FlagFile) Name() string { return "flag file " + p.path }

// Measure stats the file.
func (p *FlagFile) Measure(context.Context) (float64, error) {
	_, err := os.Stat(p.path)
	switch {
	case err == nil:
		return 1, nil
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil
	}
	return 0, err
}

// Describe says "flag file <path> exists".
func (p *FlagFile) Describe(value, limit float64) string {
	if value > 0 && limit == 0 {
		return p.Name() + " exists"
	}
	return p.Name() + " " + formatNumber(value) + " > " + formatNumber(limit)
}
