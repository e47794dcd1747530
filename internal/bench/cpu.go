package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTicks = 100

// serverCPU reads how much CPU time a local server process has used so
// far, from its pid file (@@pid_file) and /proc. Wall time on a shared two-core box
// moves with whatever else runs; the CPU a run cost the server does far
// less, so it tells where a change in wall time came from. ok is false
// when the server is not on this host.
func serverCPU(ctx context.Context, db *sql.DB) (time.Duration, bool) {
	if db == nil {
		return 0, false
	}
	var pidFile string
	if err := db.QueryRowContext(ctx, tag+"SELECT @@pid_file").Scan(&pidFile); err != nil {
		return 0, false
	}
	b, err := os.ReadFile(hostPath(pidFile, os.Getenv("GODWIT_SANDBOX_ROOT")))
	if err != nil {
		return 0, false
	}
	d, err := procCPU(strings.TrimSpace(string(b)))
	return d, err == nil
}

// hostPath is where this host sees a path of the server's: a sandbox
// flavor run with chroot (GODWIT_SANDBOX_ROOT) names its files from inside
// its root. The pid in them needs no translation: chroot shares the
// host's pid namespace.
func hostPath(path, root string) string {
	if root == "" || !filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(root, path)
}

// procCPU is the user plus system time of process pid.
func procCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces: count from its end.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime: fields 14 and 15
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%s/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter measures the CPU the primary and the replica spend from its
// start; a reading is -1 where it cannot be taken.
type cpuMeter struct {
	primary, replica *sql.DB
	p0, r0           time.Duration
	pok, rok         bool
}

func startCPU(ctx context.Context, primary, replica *sql.DB) *cpuMeter {
	m := &cpuMeter{primary: primary, replica: replica}
	m.p0, m.pok = serverCPU(ctx, primary)
	m.r0, m.rok = serverCPU(ctx, replica)
	return m
}

func (m *cpuMeter) primarySince(ctx context.Context) dur {
	if p, ok := serverCPU(ctx, m.primary); ok && m.pok {
		return dur(p - m.p0)
	}
	return -1
}

func (m *cpuMeter) replicaSince(ctx context.Context) dur {
	if r, ok := serverCPU(ctx, m.replica); ok && m.rok {
		return dur(r - m.r0)
	}
	return -1
}
