package main

import (
	"os"
	"strconv"
	"testing"
)

// TestProcCPU reads this test's own CPU time, which a busy loop must
// raise, and refuses a process that does not exist.
func TestProcCPU(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	before, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 300_000_000 {
		x ^= i
	}
	after, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("CPU time %v then %v after a busy loop (%d)", before, after, x)
	}
	if _, err := procCPU("999999999"); err == nil {
		t.Error("procCPU of a missing process: no error")
	}
}

// TestHostPath: a chroot flavor's server names its pid file from inside
// its root; the host's own server, or a relative name, needs nothing.
func TestHostPath(t *testing.T) {
	for _, c := range []struct{ path, root, want string }{
		{"/tmp/godwit-sandbox.x/primary/mariadbd.pid", "", "/tmp/godwit-sandbox.x/primary/mariadbd.pid"},
		{"/tmp/godwit-sandbox.x/primary/mariadbd.pid", "/var/cache/godwit/roots/mysql-9.7", "/var/cache/godwit/roots/mysql-9.7/tmp/godwit-sandbox.x/primary/mariadbd.pid"},
		{"mysqld.pid", "/r", "mysqld.pid"},
	} {
		if got := hostPath(c.path, c.root); got != c.want {
			t.Errorf("hostPath(%q, %q) = %q, want %q", c.path, c.root, got, c.want)
		}
	}
}
