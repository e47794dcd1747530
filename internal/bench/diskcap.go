package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// capDisk caps the sandbox primary's reads and writes at iops per second
// each, through the blkio (cgroup v1) or io (cgroup v2) controller, and
// returns what lifts the cap. The same machine's disk is fast one day and
// slow the next: a cap makes a slow disk's runs repeatable, and shows what
// godwit does when the disk, not the CPU, runs out (a cloud volume's
// baseline is a few thousand IOPS). It needs root and the server's datadir
// on a block device.
//
// The sandbox keeps MariaDB's file names on every flavor, and sandboxDir
// (GODWIT_SANDBOX_DIR) is a host path also for a flavor run with chroot,
// whose server's pid is a host pid (chroot has no pid namespace of its
// own); so the same pid file names mariadbd or mysqld.
func capDisk(sandboxDir string, iops int) (func(), error) {
	pidFile := filepath.Join(sandboxDir, "primary", "mariadbd.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil, fmt.Errorf("-disk-iops: the sandbox primary's pid: %w", err)
	}
	pid := strings.TrimSpace(string(b))
	// A stale pid file must not move some other process into the group.
	comm, err := os.ReadFile("/proc/" + pid + "/comm")
	if err != nil {
		return nil, fmt.Errorf("-disk-iops: the process of %s: %w", pidFile, err)
	}
	if !isServer(string(comm)) {
		return nil, fmt.Errorf("-disk-iops: process %s of %s is %s, no mariadbd or mysqld", pid, pidFile, strings.TrimSpace(string(comm)))
	}
	dev, err := blockDevice(filepath.Join(sandboxDir, "primary", "data"))
	if err != nil {
		return nil, fmt.Errorf("-disk-iops: %w", err)
	}
	v1 := "/sys/fs/cgroup/blkio"
	if _, err := os.Stat(v1); err == nil {
		dir := filepath.Join(v1, "godwit-bench")
		files := []string{"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"}
		set := func(n int) error {
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f), fmt.Appendf(nil, "%s %d", dev, n), 0o644); err != nil {
					return err
				}
			}
			return nil
		}
		return cgroupCap(dir, pid, func() error { return set(iops) }, func() error { return set(0) })
	}
	v2 := "/sys/fs/cgroup"
	if ctl, err := os.ReadFile(filepath.Join(v2, "cgroup.controllers")); err == nil && strings.Contains(" "+string(ctl)+" ", " io ") {
		dir := filepath.Join(v2, "godwit-bench")
		set := func(limit string) error {
			return os.WriteFile(filepath.Join(dir, "io.max"), fmt.Appendf(nil, "%s riops=%s wiops=%s", dev, limit, limit), 0o644)
		}
		return cgroupCap(dir, pid, func() error { return set(fmt.Sprint(iops)) }, func() error { return set("max") })
	}
	return nil, errors.New("-disk-iops: neither the blkio (cgroup v1) nor the io (cgroup v2) controller is available")
}

func isServer(comm string) bool {
	switch strings.TrimSpace(comm) {
	case "mariadbd", "mysqld":
		return true
	}
	return false
}

// cgroupCap makes cgroup dir, moves pid into it and sets its limit; the
// returned func lifts the limit (the server stays in the group, uncapped).
func cgroupCap(dir, pid string, limit, lift func() error) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("-disk-iops: %w (it needs root)", err)
	}
	if err := limit(); err != nil {
		return nil, fmt.Errorf("-disk-iops: set the limit: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(pid), 0o644); err != nil {
		lift()
		return nil, fmt.Errorf("-disk-iops: move the server into %s: %w", dir, err)
	}
	return func() { lift() }, nil
}

// blockDevice is the major:minor of the whole disk holding path: the
// throttles take disks, not partitions.
func blockDevice(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", err
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	sys := filepath.Join("/sys/dev/block", dev)
	if _, err := os.Stat(sys); err != nil {
		return "", fmt.Errorf("%s is on device %s, which is no block device (tmpfs, overlay?)", path, dev)
	}
	if _, err := os.Stat(filepath.Join(sys, "partition")); err == nil {
		parent, err := os.ReadFile(filepath.Join(sys, "..", "dev"))
		if err != nil {
			return "", fmt.Errorf("the disk of partition %s: %w", dev, err)
		}
		dev = strings.TrimSpace(string(parent))
	}
	return dev, nil
}
