package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestPlanUsage: command lines plan must reject before connecting (exit
// 2), and a server that cannot be reached (exit 1).
func TestPlanUsage(t *testing.T) {
	t.Setenv("MYSQL_PWD", "")
	conn := []string{"plan", "--host", "127.0.0.1", "--port", "1", "--database", "d", "--table", "t"}
	with := func(extra ...string) []string { return append(append([]string{}, conn...), extra...) }
	for _, tc := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"no alter", with(), "--alter is required", exitUsage},
		{"no table", []string{"plan", "--database", "d", "--alter", "ADD c INT"}, "--table", exitUsage},
		{"bad output", with("--alter", "ADD c INT", "--output", "yaml"), "--output must be text or json", exitUsage},
		{"bad replica", with("--alter", "ADD c INT", "--replica", "nohost"), "want host:port", exitUsage},
		{"bad chunk time", with("--alter", "ADD c INT", "--chunk-time", "0s"), "--chunk-time must be positive", exitUsage},
		{"bad sample", with("--alter", "ADD c INT", "--sample-rows", "0"), "--sample-rows", exitUsage},
		{"unknown flag", with("--alter", "ADD c INT", "--drop-old"), "unknown flag", exitUsage},
		{"stray argument", with("--alter", "ADD", "c", "INT"), "quote the whole --alter", exitUsage},
		{"no server", with("--alter", "ADD c INT"), "could not plan", exitFailed},
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

func TestPlanHelpDocumentsExitCodes(t *testing.T) {
	out, err := runInProcess("plan", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Exit codes", "0  safe", "4  needs an explicit flag", "3  refused", "2  usage", "1  could not plan", "--output", "--allow-drop-data", "--replica"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan --help does not mention %q", want)
		}
	}
}

// TestPlanOutcome maps verdicts to main's exit codes: 0, 3 and 4.
func TestPlanOutcome(t *testing.T) {
	cmd := &cobra.Command{}
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)

	if err := planOutcome(cmd, &migrate.Plan{Verdict: migrate.VerdictSafe}); err != nil || exitCode(err) != 0 {
		t.Errorf("safe: %v", err)
	}
	refused := &migrate.Plan{Verdict: migrate.VerdictRefused, Checks: []migrate.PlanCheck{
		{Check: "unique", Status: migrate.CheckRefused, Message: "duplicates", Fix: "Remove them."},
		{Check: "key", Status: migrate.CheckOK},
	}}
	err := planOutcome(cmd, refused)
	if exitCode(err) != exitRefused || !strings.Contains(err.Error(), "unique: duplicates") || !strings.Contains(err.Error(), "Remove them.") {
		t.Errorf("refused: exit %d, %v", exitCode(err), err)
	}
	needs := &migrate.Plan{Verdict: migrate.VerdictNeedsFlag, Reason: "it needs --allow-drop-data"}
	err = planOutcome(cmd, needs)
	if exitCode(err) != exitNeedsFlag || !strings.Contains(err.Error(), "--allow-drop-data") {
		t.Errorf("needs-flag: exit %d, err %v", exitCode(err), err)
	}
}

func TestWritePlan(t *testing.T) {
	p := &migrate.Plan{
		Database: "d", Table: "t", Alter: "MODIFY a VARCHAR(20), DROP COLUMN b", Server: "MariaDB 10.11.19",
		Clauses: []migrate.PlanClause{
			{Text: "modify column a VARCHAR(20)", Change: "varchar(10) -> varchar(20)", Native: migrate.Native{Class: migrate.NativeInstant, Lock: "none", Reason: "widening"}},
			{Text: "drop column b", Native: migrate.Native{Class: migrate.NativeCopy, Lock: "shared", Reason: "type change"}},
		},
		Native:   &migrate.Native{Class: migrate.NativeCopy, Lock: "shared", Reason: "the server would copy"},
		Path:     migrate.PathCopy,
		Size:     &migrate.PlanSize{RowsEstimate: 1000, DataBytes: 3 << 20, IndexBytes: 1 << 20},
		Disk:     &migrate.PlanDisk{ShadowBytes: 4 << 20, BinlogBytes: 2 << 20, NeededBytes: 6 << 20, FreeUnknown: "no DISKS plugin", Basis: "an estimate"},
		Estimate: &migrate.PlanEstimate{CopySeconds: 75, ChecksumSeconds: 30, TotalSeconds: 105, Basis: "sampled 20000 rows"},
		Checks: []migrate.PlanCheck{
			{Check: "binlog", Status: migrate.CheckOK},
			{Check: "dropped-data", Status: migrate.CheckNeedsFlag, Flag: "--allow-drop-data", Message: "b holds data", Rows: 7, Examples: []string{"id='1'"}, Fix: "Pass --allow-drop-data."},
		},
		NotChecked: []string{"replica lag: no --replica given"},
		Verdict:    migrate.VerdictNeedsFlag, ExitCode: 4, Reason: "it needs --allow-drop-data",
	}
	var b bytes.Buffer
	writePlan(&b, p)
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"Plan for d.t on MariaDB 10.11.19", "1. modify column a VARCHAR(20)", "varchar(10) -> varchar(20)",
		"copy (writes blocked)", "godwit migrate: copies online into _t_new", "rows ≈ 1000", "3.0 MiB",
		"a copy needs ≈ 6.0 MiB", "free: unknown: no DISKS plugin", "copy ≈ 1m15s, checksum ≈ 30s, total ≈ 1m45s",
		"NEEDS FLAG   dropped-data: b holds data: 7 rows (e.g. id='1')", "fix: Pass --allow-drop-data.",
		"ok           binlog", "- replica lag: no --replica given", "Verdict: NEEDS A FLAG (exit 4): it needs --allow-drop-data",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// planState is what `godwit plan` must leave as it was.
func planState(t *testing.T, sb *sandboxtest.Sandbox) string {
	t.Helper()
	var b strings.Builder
	for _, n := range sb.Tables(t) {
		var name, create string
		if err := sb.DB.QueryRow("SHOW CREATE TABLE "+mysqlx.Q(n)).Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		var sum int64
		if err := sb.DB.QueryRow("CHECKSUM TABLE "+mysqlx.Q(n)).Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		b.WriteString(create + "\nchecksum " + strconv.FormatInt(sum, 10) + "\n")
	}
	return b.String()
}

// TestPlanCLI runs the godwit binary's plan against the sandbox: each
// verdict's exit code, the JSON document, the text sections, and a
// database left exactly as it was.
func TestPlanCLI(t *testing.T) {
	sb := sandboxtest.New(t)
	createTable(t, sb) // t (id INT PRIMARY KEY, a VARCHAR(10)), some a NULL
	sb.Exec(t, "UPDATE t SET a = 'same' WHERE id IN (1, 2)")
	before := planState(t, sb)
	args := func(extra ...string) []string {
		return append([]string{"plan", "--host", sb.Host, "--port", strconv.Itoa(sb.Port), "--user", sb.User,
			"--database", sb.Database, "--table", "t"}, extra...)
	}
	for _, tc := range []struct {
		name    string
		extra   []string
		code    int
		verdict migrate.Verdict
		native  migrate.NativeClass
		stderr  string
	}{
		{"instant add column", []string{"--alter", "ADD COLUMN c INT"}, 0, migrate.VerdictSafe, migrate.NativeInstant, ""},
		{"inplace add index", []string{"--alter", "ADD INDEX ia (a)"}, 0, migrate.VerdictSafe, migrate.NativeInplace, ""},
		{"copy type change", []string{"--alter", "MODIFY id BIGINT"}, 0, migrate.VerdictSafe, migrate.NativeCopy, ""},
		{"drop column with data", []string{"--alter", "DROP COLUMN a"}, 4, migrate.VerdictNeedsFlag, migrate.NativeInstant, "--allow-drop-data"},
		{"drop column allowed", []string{"--alter", "DROP COLUMN a", "--allow-drop-data"}, 0, migrate.VerdictSafe, migrate.NativeInstant, ""},
		{"duplicates under a new unique key", []string{"--alter", "ADD UNIQUE KEY ua (a)"}, 3, migrate.VerdictRefused, migrate.NativeInplace, "refused (plan): unique"},
		{"not null over nulls", []string{"--alter", "MODIFY a VARCHAR(10) NOT NULL"}, 3, migrate.VerdictRefused, migrate.NativeRebuild, "not-null"},
		{"unparsable", []string{"--alter", "ADD FOREIGN KEY (a) REFERENCES p (id)"}, 3, migrate.VerdictRefused, "", "alter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runGodwit(t, pwdEnv(sb), args(append(tc.extra, "--output", "json")...)...)
			if res.code != tc.code {
				t.Errorf("exit %d, want %d", res.code, tc.code)
			}
			// alter.Kind marshals to its name and has no UnmarshalText:
			// read back only the fields checked.
			var p struct {
				Verdict  migrate.Verdict `json:"verdict"`
				ExitCode int             `json:"exit_code"`
				Native   *migrate.Native `json:"native"`
				Checks   []migrate.PlanCheck
			}
			if err := json.Unmarshal([]byte(res.stdout), &p); err != nil {
				t.Fatalf("stdout is not one JSON document: %v", err)
			}
			if p.Verdict != tc.verdict || p.ExitCode != tc.code {
				t.Errorf("verdict %s exit_code %d, want %s %d", p.Verdict, p.ExitCode, tc.verdict, tc.code)
			}
			if tc.native != "" && (p.Native == nil || p.Native.Class != tc.native) {
				t.Errorf("native %+v, want %s", p.Native, tc.native)
			}
			if !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr %q lacks %q", res.stderr, tc.stderr)
			}
			if after := planState(t, sb); after != before {
				t.Errorf("plan changed the database:\n%s\nwas\n%s", after, before)
			}
		})
	}
	t.Run("text", func(t *testing.T) {
		res := runGodwit(t, pwdEnv(sb), args("--alter", "MODIFY a VARCHAR(20)")...)
		if res.code != 0 {
			t.Fatalf("exit %d", res.code)
		}
		// 40 -> 80 bytes: MariaDB widens the VARCHAR instantly, MySQL in
		// place without a rebuild (still one length byte).
		whole := "Whole ALTER: instant:"
		if sb.IsMySQL() {
			whole = "Whole ALTER: inplace:"
		}
		for _, want := range []string{"Plan for ", "Change, clause by clause", whole, "Size and disk:",
			"Estimate:", "Checks:", "Verdict: SAFE (exit 0)"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("text output lacks %q", want)
			}
		}
	})
}
