package main

// Integration tests: the godwit binary, built once, run as a subprocess
// against the MariaDB sandbox, so that exit codes, stdout and stderr are
// the real ones a release pipeline sees. Run them with
//
//	testdata/sandbox/with-sandbox.sh go test -count=1 ./cmd/godwit/

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

const tableRows = 300

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// godwitBinary builds the command once per test run, on first use, so
// that unit tests alone do not pay for it.
func godwitBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "godwit-cli-test-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "godwit")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/godwit-db/godwit/cmd/godwit").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type result struct {
	code           int
	stdout, stderr string
}

// runGodwit runs the binary with args; env holds the only MYSQL_PWD it
// sees (none when env has no MYSQL_PWD entry).
func runGodwit(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, godwitBinary(t), args...)
	cmd.Env = godwitEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		res.code = ee.ExitCode()
	default:
		t.Fatalf("godwit %q: %v (ctx: %v)\nstderr:\n%s", args, err, ctx.Err(), res.stderr)
	}
	t.Logf("godwit %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	return res
}

// connArgs are "migrate" and the flags naming the sandbox, its test
// database and table t, without a password.
func connArgs(sb *sandboxtest.Sandbox) []string {
	return []string{"migrate", "--host", sb.Host, "--port", strconv.Itoa(sb.Port), "--user", sb.User,
		"--database", sb.Database, "--table", "t"}
}

func pwdEnv(sb *sandboxtest.Sandbox) []string { return []string{"MYSQL_PWD=" + sb.Password} }

// godwitEnv is this process's environment without its MYSQL_PWD, plus env.
func godwitEnv(env []string) []string {
	return append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "MYSQL_PWD=") }), env...)
}

// startGodwit starts the binary in the background for a test that follows
// its JSON lines as they come; stderr is collected.
func startGodwit(ctx context.Context, t *testing.T, env []string, args ...string) (*exec.Cmd, io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, godwitBinary(t), args...)
	cmd.Env = godwitEnv(env)
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout, stderr
}

// createTable creates t (id INT PRIMARY KEY, a VARCHAR(10)) with
// tableRows rows, some of them with NULL in a.
func createTable(t *testing.T, sb *sandboxtest.Sandbox) {
	t.Helper()
	sb.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))")
	var values []string
	for i := 1; i <= tableRows; i++ {
		if i%50 == 0 {
			values = append(values, fmt.Sprintf("(%d, NULL)", i))
		} else {
			values = append(values, fmt.Sprintf("(%d, 'row%d')", i, i))
		}
	}
	sb.Exec(t, "INSERT INTO t VALUES "+strings.Join(values, ","))
}

func tables(t *testing.T, sb *sandboxtest.Sandbox) []string { return sb.Tables(t) }

func columns(t *testing.T, sb *sandboxtest.Sandbox, table string) []string {
	return sb.Strings(t, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", sb.Database, table)
}

func queryInt(t *testing.T, sb *sandboxtest.Sandbox, q string) int {
	t.Helper()
	var n int
	if err := sb.DB.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// checkMigrated checks that t has the new column c (default 5) and, row
// for row, the rows of the original table, kept as oldTable ("" when it
// was dropped: then only the count and the defaults are checked).
func checkMigrated(t *testing.T, sb *sandboxtest.Sandbox, oldTable string) {
	t.Helper()
	if got, want := columns(t, sb, "t"), []string{"id", "a", "c"}; !slices.Equal(got, want) {
		t.Fatalf("columns of t: %v, want %v", got, want)
	}
	if n := queryInt(t, sb, "SELECT COUNT(*) FROM t"); n != tableRows {
		t.Errorf("t has %d rows, want %d", n, tableRows)
	}
	if n := queryInt(t, sb, "SELECT COUNT(*) FROM t WHERE c <=> 5"); n != tableRows {
		t.Errorf("%d rows of t have c = 5, want all %d", n, tableRows)
	}
	if oldTable != "" {
		q := fmt.Sprintf("SELECT COUNT(*) FROM t JOIN `%s` o ON o.id = t.id AND o.a <=> t.a", oldTable)
		if n := queryInt(t, sb, q); n != tableRows {
			t.Errorf("%d rows of t equal their original in %s, want %d", n, oldTable, tableRows)
		}
	}
}

// checkJSONOutput checks that stdout holds only JSON lines, the last the
// summary, and returns the summary.
func checkJSONOutput(t *testing.T, res result) map[string]any {
	t.Helper()
	if strings.TrimSpace(res.stdout) == "" {
		t.Fatal("nothing on stdout")
	}
	var last map[string]any
	for i, line := range strings.Split(strings.TrimRight(res.stdout, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line %d is not JSON: %q: %v", i+1, line, err)
		}
		if ev := m["event"]; ev != "progress" && ev != "summary" {
			t.Errorf("stdout line %d: event %v, want progress or summary", i+1, ev)
		}
		if last != nil && last["event"] == "summary" {
			t.Errorf("stdout line %d comes after the summary", i+1)
		}
		last = m
	}
	if last["event"] != "summary" {
		t.Fatalf("the last stdout line is %v, want the summary", last)
	}
	return last
}

// checkNoBar checks that nothing drew a progress bar on stderr.
func checkNoBar(t *testing.T, res result) {
	t.Helper()
	if strings.Contains(res.stderr, "\r") {
		t.Errorf("stderr has carriage returns (progress bar redraws) though it is not a terminal:\n%q", res.stderr)
	}
}

func TestMigrateJSON(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)

	res := runGodwit(t, pwdEnv(sb), append(connArgs(sb), "--alter", "ADD COLUMN c INT DEFAULT 5", "--force-copy", "--output", "json")...)
	if res.code != exitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, exitOK, res.stderr)
	}
	sum := checkJSONOutput(t, res)
	for k, want := range map[string]any{"swapped": true, "table": "t", "rows_copied": float64(tableRows),
		"old_table": "_t_old", "old_dropped": false} {
		if sum[k] != want {
			t.Errorf("summary %s = %v, want %v", k, sum[k], want)
		}
	}
	if _, ok := sum["error"]; ok {
		t.Errorf("summary has an error: %v", sum["error"])
	}
	checkNoBar(t, res)
	// In JSON mode the logs on stderr are JSON lines too.
	for _, line := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
		if line != "" && !json.Valid([]byte(line)) {
			t.Errorf("stderr line is not JSON: %q", line)
		}
	}
	checkMigrated(t, sb, "_t_old")
	if got, want := tables(t, sb), []string{"_t_old", "t"}; !slices.Equal(got, want) {
		t.Errorf("tables after the migration: %v, want %v", got, want)
	}
}

func TestMigratePasswordSources(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// args and env for the sandbox and the test's my.cnf
		args func(t *testing.T, sb *sandboxtest.Sandbox, cnf string) []string
		env  func(sb *sandboxtest.Sandbox) []string
	}{
		{
			name: "MYSQL_PWD only",
			args: func(_ *testing.T, sb *sandboxtest.Sandbox, _ string) []string { return connArgs(sb) },
			env:  pwdEnv,
		},
		{
			name: "defaults file only",
			args: func(_ *testing.T, sb *sandboxtest.Sandbox, cnf string) []string {
				return []string{"migrate", "--defaults-file", cnf, "--database", sb.Database, "--table", "t"}
			},
		},
		{
			name: "--password beats a wrong MYSQL_PWD",
			args: func(_ *testing.T, sb *sandboxtest.Sandbox, _ string) []string {
				return append(connArgs(sb), "--password", sb.Password)
			},
			env: func(*sandboxtest.Sandbox) []string { return []string{"MYSQL_PWD=wrong"} },
		},
		{
			name: "MYSQL_PWD beats a wrong password in the defaults file",
			args: func(t *testing.T, sb *sandboxtest.Sandbox, cnf string) []string {
				wrong := writeFile(t, filepath.Dir(cnf), "wrong.cnf", fmt.Sprintf(
					"[client]\nuser=%s\npassword=wrong\nhost=%s\nport=%d\n", sb.User, sb.Host, sb.Port))
				return []string{"migrate", "--defaults-file", wrong, "--database", sb.Database, "--table", "t"}
			},
			env: pwdEnv,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := sandboxtest.New(t)
			createTable(t, sb)
			cnf := writeFile(t, t.TempDir(), "my.cnf", fmt.Sprintf(`# written by %s
[mysqld]
port = 1

[client]
user = %s
password = "%s"   # quoted, with a comment
host = %s
port = %d
`, t.Name(), sb.User, sb.Password, sb.Host, sb.Port))
			var env []string
			if tc.env != nil {
				env = tc.env(sb)
			}
			// No --output: piped, auto must choose JSON lines.
			res := runGodwit(t, env, append(tc.args(t, sb, cnf), "--alter", "ADD COLUMN c INT DEFAULT 5", "--force-copy", "--drop-old")...)
			if res.code != exitOK {
				t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, exitOK, res.stderr)
			}
			sum := checkJSONOutput(t, res)
			if sum["swapped"] != true || sum["old_dropped"] != true {
				t.Errorf("summary %v, want swapped and old_dropped", sum)
			}
			checkNoBar(t, res)
			checkMigrated(t, sb, "")
			if got, want := tables(t, sb), []string{"t"}; !slices.Equal(got, want) {
				t.Errorf("tables after the migration with --drop-old: %v, want %v", got, want)
			}
		})
	}
}

func TestMigrateWrongPassword(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	for _, tc := range []struct {
		name, from string // from: what stderr says about the password
		args       []string
		env        []string
	}{
		{"MYSQL_PWD", "password from MYSQL_PWD", nil, []string{"MYSQL_PWD=wrong"}},
		{"--password", "password from --password", []string{"--password", "wrong"}, nil},
		{"none", "no password given", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runGodwit(t, tc.env, append(append(connArgs(sb), tc.args...), "--alter", "ADD COLUMN c INT", "--output", "json")...)
			if res.code != exitFailed {
				t.Fatalf("exit %d, want %d", res.code, exitFailed)
			}
			addr := fmt.Sprintf("%s:%d", sb.Host, sb.Port)
			for _, want := range []string{"godwit: connect to " + addr + " as " + sb.User, "Access denied", tc.from} {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
				}
			}
			sum := checkJSONOutput(t, res)
			if sum["swapped"] != false || !strings.Contains(fmt.Sprint(sum["error"]), "Access denied") {
				t.Errorf("summary %v, want swapped=false and the error", sum)
			}
			checkNoBar(t, res)
		})
	}
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a"}) {
		t.Errorf("t changed: columns %v", got)
	}
	if got := tables(t, sb); !slices.Equal(got, []string{"t"}) {
		t.Errorf("tables: %v, want only t", got)
	}
}

func TestMigrateRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup string // besides table t
		args  []string
		want  string // on stderr
	}{
		{"not an ALTER", "", []string{"--alter", "DROP TABLE t"}, "DROP TABLE"},
		{"ALTER of another table", "", []string{"--alter", "ALTER TABLE other ADD COLUMN c INT"}, "refused"},
		{"unparsable ALTER", "", []string{"--alter", "ADD COLUMN"}, "cannot parse"},
		{"no primary key", "CREATE TABLE nopk (a INT)", []string{"--table", "nopk", "--alter", "ADD COLUMN c INT"}, "no primary key"},
		{"no such table", "", []string{"--table", "missing", "--alter", "ADD COLUMN c INT"}, "does not exist"},
		// An instant change renames nothing, so only a copy is refused.
		{"leftover of an earlier run", "CREATE TABLE _t_old (id INT PRIMARY KEY)", []string{"--alter", "ADD COLUMN c INT", "--force-copy"}, "_t_old already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := sandboxtest.New(t)
			createTable(t, sb)
			if tc.setup != "" {
				sb.Exec(t, tc.setup)
			}
			before := tables(t, sb)
			// A later --table overrides the one of connArgs.
			res := runGodwit(t, pwdEnv(sb), append(append(connArgs(sb), "--output", "json"), tc.args...)...)
			if res.code != exitRefused {
				t.Fatalf("exit %d, want %d", res.code, exitRefused)
			}
			if !strings.Contains(res.stderr, "godwit: ") || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, res.stderr)
			}
			sum := checkJSONOutput(t, res)
			if sum["swapped"] != false || sum["error"] == nil {
				t.Errorf("summary %v, want swapped=false and the error", sum)
			}
			checkNoBar(t, res)
			if after := tables(t, sb); !slices.Equal(after, before) {
				t.Errorf("tables before %v, after %v: a refusal must create nothing", before, after)
			}
			if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a"}) {
				t.Errorf("t changed: columns %v", got)
			}
		})
	}
}

func TestMigrateUsageErrors(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	conn := []string{"--host", sb.Host, "--port", strconv.Itoa(sb.Port), "--user", sb.User, "--database", sb.Database}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing --alter", slices.Concat(conn, []string{"--table", "t"}), "--alter is required"},
		{"missing --table", slices.Concat(conn, []string{"--alter", "ADD COLUMN c INT"}), "--table is required"},
		{"bad --output", slices.Concat(conn, []string{"--table", "t", "--alter", "ADD COLUMN c INT", "--output", "yaml"}), "--output must be"},
		{"unquoted --alter", slices.Concat(conn, []string{"--table", "t", "--alter", "ADD", "COLUMN", "c", "INT"}), "quote the whole --alter value"},
		{"missing defaults file", slices.Concat(conn, []string{"--table", "t", "--alter", "ADD COLUMN c INT", "--defaults-file", "/nonexistent/my.cnf"}), "--defaults-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runGodwit(t, pwdEnv(sb), append([]string{"migrate"}, tc.args...)...)
			if res.code != exitUsage {
				t.Fatalf("exit %d, want %d", res.code, exitUsage)
			}
			if !strings.Contains(res.stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout should be empty on a usage error: %q", res.stdout)
			}
		})
	}
	if got := tables(t, sb); !slices.Equal(got, []string{"t"}) {
		t.Errorf("tables: %v, want only t", got)
	}
}

func TestMigrateText(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	res := runGodwit(t, pwdEnv(sb), append(connArgs(sb), "--alter", "ADD COLUMN c INT DEFAULT 5", "--force-copy", "--output", "text")...)
	if res.code != exitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, exitOK, res.stderr)
	}
	for _, want := range []string{
		"preflight rows", // a progress line
		"swapped t in ",  // the summary
		fmt.Sprintf("%d rows copied", tableRows),
		"cut-over held writes for",
		"old table kept as _t_old",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "{") || strings.Contains(res.stdout, "level=") {
		t.Errorf("stdout has JSON or log lines:\n%s", res.stdout)
	}
	checkNoBar(t, res)
	checkMigrated(t, sb, "_t_old")
}

// TestMigrateInterrupted stops a migration stuck in cut-over (a reader's
// open transaction holds the table) with SIGINT, as a DBA's Ctrl-C does:
// godwit must stop promptly with exit 5, say it was interrupted and that
// its copy is kept, and leave the original table alone; once the reader
// is gone, the same command resumes the kept copy and swaps.
func TestMigrateInterrupted(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reader, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	tx, err := reader.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var id int
	if err := tx.QueryRowContext(ctx, "SELECT id FROM t ORDER BY id LIMIT 1").Scan(&id); err != nil {
		t.Fatal(err)
	}

	args := append(connArgs(sb), "--alter", "ADD COLUMN c INT DEFAULT 5", "--force-copy", "--output", "json",
		"--cutover-lock-timeout", "1s", "--cutover-retries", "1000")
	cmd, stdout, stderr := startGodwit(ctx, t, pwdEnv(sb), args...)
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	signalled := time.Time{}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		var ev map[string]any
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev["phase"] == "cut-over" && signalled.IsZero() {
			time.Sleep(1500 * time.Millisecond) // into the failing attempts
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			signalled = time.Now()
		}
	}
	err = cmd.Wait()
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
	if signalled.IsZero() {
		t.Fatalf("the migration never reached cut-over (err %v)", err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitKept {
		t.Fatalf("after SIGINT: %v, want exit %d", err, exitKept)
	}
	if took := time.Since(signalled); took > 15*time.Second {
		t.Errorf("godwit took %s to stop after SIGINT", took)
	}
	for _, want := range []string{"godwit: interrupted during cut-over", "the original table is intact and serving", "the copy and its checkpoint are kept: rerun the same command to resume"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
	sum := checkJSONOutput(t, result{stdout: out.String(), stderr: stderr.String()})
	if sum["swapped"] != false {
		t.Errorf("summary %v, want swapped=false", sum)
	}
	if got := tables(t, sb); !slices.Equal(got, []string{"_t_ckpt", "t", "t_godwit_new"}) {
		t.Errorf("tables after the interrupted run: %v, want the original, the kept shadow and the checkpoint", got)
	}
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a"}) {
		t.Errorf("t changed: columns %v", got)
	}
	if n := queryInt(t, sb, "SELECT COUNT(*) FROM t"); n != tableRows {
		t.Errorf("t has %d rows, want %d", n, tableRows)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	res := runGodwit(t, pwdEnv(sb), args...)
	if res.code != exitOK {
		t.Fatalf("rerun exited %d:\n%s", res.code, res.stderr)
	}
	if sum := checkJSONOutput(t, res); sum["resumed"] != true {
		t.Errorf("the rerun did not resume the kept copy: %v", sum)
	}
	checkMigrated(t, sb, "_t_old")
}
