package main

// Tests of godwit apply. The scenarios of testdata/apply run the built
// binary against the sandbox, a run after another, so that exit codes,
// stdout and stderr are what a release pipeline sees:
//
//	testdata/sandbox/with-sandbox.sh go test -count=1 ./cmd/godwit/ -run Apply

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate/pipeline"
)

// applyStep is one run of a scenario's runs.json (see
// testdata/apply/README.md). Only the fields given are checked.
type applyStep struct {
	Name   string            `json:"name"`
	Write  map[string]string `json:"write"`  // before the run: file of the migrations dir <- fixture, relative to the scenario
	Remove []string          `json:"remove"` // before the run: files removed from the migrations dir
	Args   []string          `json:"args"`   // besides DIR and the connection; --output json unless given

	Exit       int                 `json:"exit"`
	Stderr     []string            `json:"stderr"`     // each must appear on stderr
	Verdict    string              `json:"verdict"`    // the report's (dry runs)
	Files      map[string]string   `json:"files"`      // file -> its status in the report
	Statements map[string][]string `json:"statements"` // file -> "status route path verdict" per statement, "-" for empty
	Resumed    map[string]int      `json:"resumed"`    // file -> resumed_at
	Counts     []int               `json:"counts"`     // applied, already_applied, pending
	History    map[string]string   `json:"history"`    // file -> "outcome done path" in _godwit_migrations, "-" for no row
	NoHistory  bool                `json:"no_history"` // _godwit_migrations must not exist
	Tables     []string            `json:"tables"`     // every table of the database, sorted
	Columns    map[string][]string `json:"columns"`
	Indexes    map[string][]string `json:"indexes"` // index names, sorted
	Rows       map[string]int      `json:"rows"`
}

// applyReport is the part of apply's JSON document the tests read.
type applyReport struct {
	DryRun         bool   `json:"dry_run"`
	Applied        int    `json:"applied"`
	AlreadyApplied int    `json:"already_applied"`
	Pending        int    `json:"pending"`
	Verdict        string `json:"verdict"`
	ExitCode       int    `json:"exit_code"`
	Error          string `json:"error"`
	Files          []struct {
		Name       string `json:"name"`
		Checksum   string `json:"checksum"`
		Status     string `json:"status"`
		ResumedAt  int    `json:"resumed_at"`
		Message    string `json:"message"`
		Statements []struct {
			SQL     string          `json:"sql"`
			Kind    string          `json:"kind"`
			Route   string          `json:"route"`
			Path    string          `json:"path"`
			Verdict string          `json:"verdict"`
			Status  string          `json:"status"`
			Error   string          `json:"error"`
			Plan    json.RawMessage `json:"plan"`
		} `json:"statements"`
	} `json:"files"`
}

func TestApplyScenarios(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("../../testdata/apply/*/runs.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no apply scenarios: %v", err)
	}
	for _, runs := range dirs {
		dir := filepath.Dir(runs)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			runApplyScenario(t, dir)
		})
	}
}

func runApplyScenario(t *testing.T, dir string) {
	var steps []applyStep
	dec := json.NewDecoder(strings.NewReader(readFixture(t, filepath.Join(dir, "runs.json"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&steps); err != nil {
		t.Fatalf("runs.json: %v", err)
	}
	sb := sandboxtest.New(t)
	if _, err := os.Stat(filepath.Join(dir, "setup.sql")); err == nil {
		runSetupSQL(t, sb, readFixture(t, filepath.Join(dir, "setup.sql")))
	}
	work := filepath.Join(t.TempDir(), "migrations")
	copyDir(t, filepath.Join(dir, "migrations"), work)
	for i, st := range steps {
		label := fmt.Sprintf("run %d (%s)", i+1, st.Name)
		for _, name := range st.Remove {
			if err := os.Remove(filepath.Join(work, name)); err != nil {
				t.Fatalf("%s: %v", label, err)
			}
		}
		for name, from := range st.Write {
			writeFile(t, work, name, readFixture(t, filepath.Join(dir, from)))
		}
		args := st.Args
		if !slices.Contains(args, "--output") {
			args = append(slices.Clone(args), "--output", "json")
		}
		res := runGodwit(t, pwdEnv(sb), append(applyConnArgs(sb, work), args...)...)
		if res.code != st.Exit {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", label, res.code, st.Exit, res.stdout, res.stderr)
		}
		for _, want := range st.Stderr {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("%s: stderr lacks %q", label, want)
			}
		}
		rep := parseApplyReport(t, label, res)
		checkApplyReport(t, label, st, rep)
		checkApplyDatabase(t, label, sb, st)
	}
}

// parseApplyReport reads stdout as exactly one JSON document, whose exit
// code is the process's.
func parseApplyReport(t *testing.T, label string, res result) applyReport {
	t.Helper()
	var rep applyReport
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("%s: stdout is not a JSON document: %v\n%s", label, err, res.stdout)
	}
	if dec.More() {
		t.Fatalf("%s: stdout holds more than one JSON document:\n%s", label, res.stdout)
	}
	if rep.ExitCode != res.code {
		t.Errorf("%s: the report's exit_code is %d, the process exited %d", label, rep.ExitCode, res.code)
	}
	if (rep.Error == "") != (res.code == 0) {
		t.Errorf("%s: the report's error is %q with exit %d", label, rep.Error, res.code)
	}
	if res.code != 0 && !strings.Contains(res.stderr, "godwit: ") {
		t.Errorf("%s: exit %d without a message on stderr", label, res.code)
	}
	return rep
}

func checkApplyReport(t *testing.T, label string, st applyStep, rep applyReport) {
	t.Helper()
	if st.Verdict != "" && rep.Verdict != st.Verdict {
		t.Errorf("%s: verdict %q, want %q", label, rep.Verdict, st.Verdict)
	}
	if st.Counts != nil {
		if got := []int{rep.Applied, rep.AlreadyApplied, rep.Pending}; !slices.Equal(got, st.Counts) {
			t.Errorf("%s: applied, already_applied, pending = %v, want %v", label, got, st.Counts)
		}
	}
	files := map[string]int{}
	for i, f := range rep.Files {
		files[f.Name] = i
		if len(f.Checksum) != 64 {
			t.Errorf("%s: %s: checksum %q", label, f.Name, f.Checksum)
		}
	}
	for name, want := range st.Files {
		i, ok := files[name]
		if !ok {
			t.Errorf("%s: %s is not in the report", label, name)
		} else if got := rep.Files[i].Status; got != want {
			t.Errorf("%s: %s status %q, want %q (message %q)", label, name, got, want, rep.Files[i].Message)
		}
	}
	for name, want := range st.Resumed {
		if i, ok := files[name]; !ok || rep.Files[i].ResumedAt != want {
			t.Errorf("%s: %s resumed_at %v, want %d", label, name, rep.Files[i].ResumedAt, want)
		}
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for name, want := range st.Statements {
		i, ok := files[name]
		if !ok {
			t.Errorf("%s: %s is not in the report", label, name)
			continue
		}
		var got []string
		for _, s := range rep.Files[i].Statements {
			got = append(got, strings.Join([]string{s.Status, s.Route, dash(s.Path), dash(s.Verdict)}, " "))
			if s.SQL == "" || s.Kind == "" {
				t.Errorf("%s: %s: a statement without sql or kind: %+v", label, name, s)
			}
			if rep.DryRun && s.Route == pipeline.RouteMigrate && s.Verdict == "safe" && s.Status == "pending" && len(s.Plan) == 0 {
				t.Errorf("%s: %s: a dry run's migrate statement without its plan", label, name)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %s statements\n%q\nwant\n%q", label, name, got, want)
		}
	}
}

func checkApplyDatabase(t *testing.T, label string, sb *sandboxtest.Sandbox, st applyStep) {
	t.Helper()
	hasHistory := slices.Contains(sb.Tables(t), pipeline.HistoryTable)
	if st.NoHistory && hasHistory {
		t.Errorf("%s: %s exists", label, pipeline.HistoryTable)
	}
	for name, want := range st.History {
		got := "-"
		if hasHistory {
			rows := sb.Strings(t, "SELECT CONCAT_WS(' ', outcome, done_statements, IF(path = '', '-', path)) FROM "+pipeline.HistoryTable+" WHERE name = ?", name)
			if len(rows) == 1 {
				got = rows[0]
			}
		}
		if got != want {
			t.Errorf("%s: history of %s is %q, want %q", label, name, got, want)
		}
	}
	if st.Tables != nil {
		if got := sb.Tables(t); !slices.Equal(got, st.Tables) && !(len(got) == 0 && len(st.Tables) == 0) {
			t.Errorf("%s: tables %q, want %q", label, got, st.Tables)
		}
	}
	for table, want := range st.Columns {
		if got := columns(t, sb, table); !slices.Equal(got, want) {
			t.Errorf("%s: columns of %s %q, want %q", label, table, got, want)
		}
	}
	for table, want := range st.Indexes {
		got := sb.Strings(t, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME", sb.Database, table)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: indexes of %s %q, want %q", label, table, got, want)
		}
	}
	for table, want := range st.Rows {
		if got := queryInt(t, sb, "SELECT COUNT(*) FROM "+table); got != want {
			t.Errorf("%s: %s has %d rows, want %d", label, table, got, want)
		}
	}
}

// applyConnArgs are "apply DIR" and the flags naming the sandbox and the
// test's database, without a password.
func applyConnArgs(sb *sandboxtest.Sandbox, dir string) []string {
	return []string{"apply", dir, "--host", sb.Host, "--port", strconv.Itoa(sb.Port), "--user", sb.User, "--database", sb.Database}
}

// runSetupSQL runs a scenario's setup, split into statements by the same
// parser apply uses.
func runSetupSQL(t *testing.T, sb *sandboxtest.Sandbox, text string) {
	t.Helper()
	stmts, err := pipeline.Split(pipeline.File{Name: "setup.sql", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		sb.Exec(t, s.Text)
	}
}

func readFixture(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		writeFile(t, to, e.Name(), readFixture(t, filepath.Join(from, e.Name())))
	}
}

// TestApplyText runs the three-files scenario with the text output: the
// dry run shows each statement's route and godwit plan's report, the run
// each statement's path, and the totals.
func TestApplyText(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/apply/three-files"
	sb := sandboxtest.New(t)
	runSetupSQL(t, sb, readFixture(t, filepath.Join(dir, "setup.sql")))
	work := filepath.Join(t.TempDir(), "migrations")
	copyDir(t, filepath.Join(dir, "migrations"), work)

	res := runGodwit(t, pwdEnv(sb), append(applyConnArgs(sb, work), "--dry-run")...)
	if res.code != 0 {
		t.Fatalf("dry run: exit %d", res.code)
	}
	server := "MariaDB"
	if sb.IsMySQL() {
		server = "MySQL"
	}
	for _, want := range []string{
		"godwit dry run (nothing is changed): " + work + " on database " + sb.Database + ": 3 files, 0 applied before, 3 pending",
		"0001_create_users.sql\n  1. CREATE TABLE `users` (",
		"  2. CREATE INDEX `iname` ON `users` (`name`)\n     direct: SAFE (the table is created earlier in this run, so it is empty)\n",
		"  1. CREATE INDEX `icustomer` ON `orders` (`customer`)\n     migrate -> online-copy: SAFE (the table holds rows: built online as ALTER TABLE `orders` ADD\n",
		"       | Plan for " + sb.Database + ".orders on " + server,
		"       | Verdict: SAFE (exit 0)",
		"     migrate: NOT PLANNED (users is created earlier in this run, by 0001_create_users.sql statement\n",
		"dry run: 3 files pending; verdict SAFE (exit 0); nothing was changed",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("dry run stdout lacks %q", want)
		}
	}
	res = runGodwit(t, pwdEnv(sb), applyConnArgs(sb, work)...)
	if res.code != 0 {
		t.Fatalf("run: exit %d", res.code)
	}
	for _, want := range []string{
		"godwit apply: " + work + " on database " + sb.Database + ": 3 files, 0 applied before, 3 pending",
		"  1. CREATE TABLE `users` (`id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,`name` VARCHAR(100) …\n     direct in ",
		"  1. ALTER TABLE `users` ADD COLUMN `email` VARCHAR(255) NULL AFTER `name`\n     migrate -> instant in ",
		"rows copied; old table kept as _orders_old",
		"note: original tables kept: _orders_old, _users_old.",
		"  applied in ",
		"done: applied 3 files in ",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Contains(res.stdout, "{") || strings.Contains(res.stdout, "level=") {
		t.Errorf("stdout has JSON or log lines:\n%s", res.stdout)
	}
	checkNoBar(t, res)
	res = runGodwit(t, pwdEnv(sb), applyConnArgs(sb, work)...)
	if res.code != 0 || !strings.Contains(res.stdout, "nothing to apply: 3 files applied before") {
		t.Errorf("rerun: exit %d, stdout:\n%s", res.code, res.stdout)
	}
}

// TestApplyLocked: while another run holds the database's apply lock, a
// run is refused and changes nothing.
func TestApplyLocked(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	work := t.TempDir()
	writeFile(t, work, "0001_t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
	conn, err := sb.DB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got int
	if err := conn.QueryRowContext(t.Context(), "SELECT GET_LOCK(?, 0)", "godwit-apply."+sb.Database).Scan(&got); err != nil || got != 1 {
		t.Fatalf("GET_LOCK: %d %v", got, err)
	}
	res := runGodwit(t, pwdEnv(sb), append(applyConnArgs(sb, work), "--output", "json")...)
	if res.code != exitRefused || !strings.Contains(res.stderr, "another godwit apply is running on database "+sb.Database) {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	if tables := sb.Tables(t); len(tables) != 0 {
		t.Errorf("tables %q, want none", tables)
	}
	// A dry run takes no lock.
	if res := runGodwit(t, pwdEnv(sb), append(applyConnArgs(sb, work), "--dry-run")...); res.code != 0 {
		t.Errorf("dry run: exit %d", res.code)
	}
}

// TestApplyUsage: command lines apply rejects before connecting.
func TestApplyUsage(t *testing.T) {
	t.Setenv("MYSQL_PWD", "")
	dir := t.TempDir()
	writeFile(t, dir, "0001_t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
	empty := t.TempDir()
	writeFile(t, empty, "README.md", "no migrations here")
	conn := []string{"--host", "127.0.0.1", "--port", "1", "--database", "d"}
	for _, tc := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"no DIR", append([]string{"apply"}, conn...), "DIR is required", exitUsage},
		{"two DIRs", append([]string{"apply", dir, dir}, conn...), "one DIR only", exitUsage},
		{"missing DIR", append([]string{"apply", filepath.Join(dir, "nope")}, conn...), "no such file or directory", exitUsage},
		{"DIR without *.sql", append([]string{"apply", empty}, conn...), "holds no *.sql migration files", exitUsage},
		{"no database", []string{"apply", dir, "--port", "1"}, "--database is required", exitUsage},
		{"--table", append([]string{"apply", dir, "--table", "t"}, conn...), "unknown flag: --table", exitUsage},
		{"bad output", append([]string{"apply", dir, "--output", "yaml"}, conn...), "--output must be text or json", exitUsage},
		{"bad chunk time", append([]string{"apply", dir, "--chunk-time", "0s"}, conn...), "--chunk-time must be positive", exitUsage},
		{"bad replica", append([]string{"apply", dir, "--replica", "nohost"}, conn...), "want host:port", exitUsage},
		{"no server", append([]string{"apply", dir}, conn...), "connect to 127.0.0.1:1", exitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runInProcess(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if got := exitCode(err); got != tc.code {
				t.Errorf("exit code %d, want %d", got, tc.code)
			}
		})
	}
}

func TestApplyHelp(t *testing.T) {
	out, err := runInProcess("apply", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Exit codes", "_godwit_migrations", "not one transaction", "--dry-run", "--allow-drop-table",
		"--allow-drop-data", "--drop-old", "--force-copy", "--chunk-time", "--cutover-lock-timeout", "--replica", "--max-lag",
		"--defaults-file", "4  dry run only"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply --help does not mention %q", want)
		}
	}
	if strings.Contains(out, "--table") {
		t.Error("apply --help offers --table")
	}
}

// TestApplyDirectLockWait: a statement run directly waits for its table's
// lock no longer than --cutover-lock-timeout per attempt (the
// application's queries queue behind a waiting DDL), retries, and when a
// long transaction holds the table through every attempt, fails with
// nothing changed; the next run applies it.
func TestApplyDirectLockWait(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY ia (a))")
	sb.Exec(t, "INSERT INTO t VALUES (1, 1)")
	work := t.TempDir()
	writeFile(t, work, "0001_drop_ia.sql", "DROP INDEX ia ON t;\n")

	conn, err := sb.DB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil { // holds t's metadata lock until the end of the transaction
		t.Fatal(err)
	}
	args := append(applyConnArgs(sb, work), "--cutover-lock-timeout", "1s", "--cutover-retries", "2", "--output", "json")
	res := runGodwit(t, pwdEnv(sb), args...)
	if res.code != exitFailed || !strings.Contains(res.stderr, "0001_drop_ia.sql statement 1 (line 1) failed: the table stayed locked by other sessions through 2 attempts of 1s each, nothing was changed") {
		t.Fatalf("while a transaction holds t: exit %d, stderr %q", res.code, res.stderr)
	}
	if got := sb.Strings(t, "SELECT CONCAT_WS(' ', outcome, done_statements) FROM "+pipeline.HistoryTable); !slices.Equal(got, []string{"failed 0"}) {
		t.Errorf("history %q", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if res := runGodwit(t, pwdEnv(sb), args...); res.code != 0 {
		t.Fatalf("after the transaction: exit %d", res.code)
	}
	if got := sb.Strings(t, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't'", sb.Database); !slices.Equal(got, []string{"PRIMARY"}) {
		t.Errorf("indexes of t: %q", got)
	}
}
