package sandboxtest

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestSandbox(t *testing.T) {
	outer := New(t)
	var dropped string
	t.Run("primary and replica", func(t *testing.T) {
		sb := New(t)
		dropped = sb.Database
		if want := strings.HasPrefix(Flavor(), "mysql-"); sb.IsMySQL() != want {
			t.Errorf("IsMySQL() = %v on flavor %s", sb.IsMySQL(), Flavor())
		}

		for v, want := range map[string]string{
			"@@binlog_format":    "ROW",
			"@@binlog_row_image": "FULL",
			"@@time_zone":        "+00:00", // from the DSN
			"DATABASE()":         sb.Database,
		} {
			var got string
			if err := sb.DB.QueryRow("SELECT " + v).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s = %q, want %q", v, got, want)
			}
		}

		sb.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
		res := sb.Exec(t, "INSERT INTO t VALUES (?, ?), (?, ?)", 1, "one", 2, "two")
		if n, _ := res.RowsAffected(); n != 2 {
			t.Fatalf("inserted %d rows, want 2", n)
		}
		sb.WaitReplica(t)

		var v string
		if err := sb.Replica(t).QueryRow("SELECT v FROM t WHERE id = 2").Scan(&v); err != nil {
			t.Fatalf("reading the row on the replica: %v", err)
		}
		if v != "two" {
			t.Errorf("replica has v = %q, want %q", v, "two")
		}
		var readOnly int
		if err := sb.Replica(t).QueryRow("SELECT @@read_only").Scan(&readOnly); err != nil || readOnly != 1 {
			t.Errorf("replica @@read_only = %d (%v), want 1", readOnly, err)
		}
	})
	if t.Failed() {
		return
	}

	// The subtest's cleanup must have dropped its database.
	var n int
	err := outer.DB.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", dropped).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended", dropped)
	}
}

func TestFlavor(t *testing.T) {
	t.Setenv(EnvFlavor, "")
	if got := Flavor(); got != DefaultFlavor {
		t.Errorf("Flavor() without %s = %q, want %q", EnvFlavor, got, DefaultFlavor)
	}
	t.Setenv(EnvFlavor, "mysql-9.7")
	if got := Flavor(); got != "mysql-9.7" {
		t.Errorf("Flavor() = %q, want mysql-9.7", got)
	}
}

func TestDBName(t *testing.T) {
	valid := regexp.MustCompile(`^gw_[a-z0-9_]*_[0-9a-f]{8}$`)
	for _, name := range []string{
		"TestX",
		"TestCopy/with spaces & ünïcode/#01",
		strings.Repeat("TestVeryLongName", 10),
		"__",
	} {
		a, b := dbName(name), dbName(name)
		if len(a) > 64 || !valid.MatchString(a) || strings.Contains(a, "__") {
			t.Errorf("dbName(%q) = %q: not a short, clean identifier", name, a)
		}
		if a == b {
			t.Errorf("dbName(%q) gave %q twice", name, a)
		}
	}
	if got := dbName("TestCopy/Sub_Case"); !strings.HasPrefix(got, "gw_testcopy_sub_case_") {
		t.Errorf("dbName kept too little of the test name: %q", got)
	}
}

// Without the GODWIT_TEST_* variables, New skips, except in CI, where it
// fails: in CI an integration test never silently skips.
func TestNewWithoutSandbox(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantSkip bool
	}{
		{ci: "", wantSkip: true},
		{ci: "false", wantSkip: true},
		{ci: "true", wantSkip: false},
		{ci: "1", wantSkip: false},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			for _, v := range []string{EnvHost, EnvPort, EnvUser, EnvPassword, EnvReplicaPort} {
				t.Setenv(v, "")
			}
			t.Setenv("CI", tc.ci)

			f := &fakeTB{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				New(f)
				f.returned = true
			}()
			<-done

			switch {
			case f.returned:
				t.Fatal("New returned without the sandbox")
			case tc.wantSkip && f.skipped == "":
				t.Errorf("not skipped; failed with %q", f.failed)
			case !tc.wantSkip && f.failed == "":
				t.Errorf("not failed; skipped with %q", f.skipped)
			}
			if msg := f.skipped + f.failed; !strings.Contains(msg, "make test") {
				t.Errorf("message %q does not say to run make test", msg)
			}
		})
	}
}

// fakeTB records Skip and Fatal; like the real ones, they end the goroutine.
type fakeTB struct {
	testing.TB // nil: any other method panics
	skipped    string
	failed     string
	returned   bool
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return "TestFake" }
func (f *fakeTB) Skip(args ...any) {
	f.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }
