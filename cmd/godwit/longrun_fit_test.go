//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
)

const (
	// probeRows are loaded into a scratch table to measure a row's size on
	// this server.
	probeRows = 20_000
	// copiesOnDisk: the table and its shadow, on the primary and again on
	// the replica, plus the binary logs in flight (the sandbox expires them
	// after a minute).
	copiesOnDisk = 5
	// diskSpare is left free for everything else on the filesystem.
	diskSpare = 2 << 30
)

// fitRows scales the asked number of rows down to what the sandbox's disk
// and this process's memory can hold, saying so in the log.
func fitRows(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox, asked int) int {
	t.Helper()
	perRow, modelPerRow := rowBytes(ctx, t, sb)
	dir := os.Getenv("GODWIT_SANDBOX_DIR")
	if dir == "" {
		t.Fatal("GODWIT_SANDBOX_DIR is not set: source the sandbox's env file (make longrun does)")
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatalf("free space of the sandbox's filesystem (%s): %v", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	diskFit := max(0, (free-diskSpare)/(perRow*copiesOnDisk))
	avail, err := memAvailable()
	if err != nil {
		t.Fatal(err)
	}
	// Half of what is available, for a model that may grow by half again
	// as its map grows: the servers and godwit need memory too.
	memFit := avail / 2 / (modelPerRow * 3 / 2)
	t.Logf("sizing: a row takes %d bytes on disk and %d in the writers' model (measured on %d rows); %s free on the sandbox's filesystem (room for %d rows at %d copies), %s of memory available (room for %d rows)",
		perRow, modelPerRow, probeRows, fmtMiB(free), diskFit, copiesOnDisk, fmtMiB(avail), memFit)
	fit := int(min(int64(asked), diskFit, memFit))
	if fit < asked {
		t.Logf("SCALED DOWN: %d rows asked, %d rows fit (disk room %d rows, memory room %d rows)", asked, fit, diskFit, memFit)
	}
	if fit < 100_000 {
		t.Fatalf("only %d rows fit on this machine (disk room %d, memory room %d): free disk space or memory", fit, diskFit, memFit)
	}
	return fit
}

// rowBytes measures the bytes a workload row takes on disk, data and
// indexes, and in the writers' model, from a scratch table.
func rowBytes(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox) (disk, model int64) {
	t.Helper()
	const probe = "t_size_probe"
	if err := workload.Create(ctx, sb.DB, probe); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := workload.LoadLean(ctx, sb.DB, probe, probeRows, 1)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(m)
	model = max(1, (int64(after.HeapAlloc)-int64(before.HeapAlloc))/probeRows)
	sb.Exec(t, "ANALYZE TABLE "+probe)
	var size int64
	if err := sb.DB.QueryRowContext(ctx, "SELECT DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", probe).Scan(&size); err != nil {
		t.Fatalf("size of %s: %v", probe, err)
	}
	sb.Exec(t, "DROP TABLE "+probe)
	if size <= 0 {
		t.Fatalf("%s: the server reports %d bytes for %d rows", probe, size, probeRows)
	}
	return max(1, size/probeRows), model
}

// memAvailable is the kernel's estimate of memory available for new work.
func memAvailable() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("available memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("available memory: /proc/meminfo says %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("available memory: no MemAvailable in /proc/meminfo")
}
