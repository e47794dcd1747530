package throttle

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFlagFilePausesAndReleases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "throttle")
	r := start(t, Config{Limits: []Limit{{Probe: NewFlagFile(path)}}, Interval: 10 * time.Millisecond})

	if err := r.Wait(context.Background()); err != nil {
		t.Fatalf("Wait without the file: %v", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "throttled by the flag file", func() bool { return r.State().Throttled })
	if got, want := r.State().Reason, "flag file "+path+" exists"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	ch := waitAsync(r.Throttler, 5*time.Second)
	blocked(t, ch, 100*time.Millisecond, "while the flag file exists")
	removed := time.Now()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := <-ch; err != nil {
		t.Fatalf("Wait after removing the file: %v", err)
	}
	t.Logf("released %v after the file was removed", time.Since(removed).Round(time.Millisecond))
}

func TestFlagFileStatError(t *testing.T) {
	dir := t.TempDir()
	// A path through a regular file: stat fails with ENOTDIR, not ENOENT.
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFlagFile(filepath.Join(file, "x")).Measure(context.Background()); err == nil {
		t.Error("a stat error other than not-exist did not fail the probe")
	}
}
