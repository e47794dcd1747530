package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBlockDevice: the throttles take a whole disk, so a path on a
// partition resolves to its disk; a path on no block device is an error
// that says so.
func TestBlockDevice(t *testing.T) {
	dev, err := blockDevice(t.TempDir())
	if err != nil {
		if !strings.Contains(err.Error(), "no block device") {
			t.Fatal(err)
		}
		t.Skipf("the temporary directory is on no block device here: %v", err)
	}
	sys := filepath.Join("/sys/dev/block", dev)
	if _, err := os.Stat(sys); err != nil {
		t.Fatalf("device %s: %v", dev, err)
	}
	if _, err := os.Stat(filepath.Join(sys, "partition")); err == nil {
		t.Fatalf("device %s is a partition, want its disk", dev)
	}
	if _, err := blockDevice(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing path: no error")
	}
}
