package migrate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestCheckEnforcement: on MySQL a CHECK may be NOT ENFORCED. One the ALTER
// adds NOT ENFORCED holds nothing back; one it starts enforcing is a data
// check, in the plan and in migrate alike. MariaDB has no NOT ENFORCED
// (its parser rejects the words): the test runs on MySQL only.
//
// ALTER CHECK ck ENFORCED cannot reach the shadow on MySQL: CHECK names
// are unique per schema there, so CREATE TABLE ... LIKE names the
// shadow's copy _t_new_chk_1 and the server rejects the ALTER. The plan
// refuses it for its rows; migrate refuses it too, for the name.
func TestCheckEnforcement(t *testing.T) {
	for _, tc := range []struct {
		name, alter string
		refused     bool
		want        string // in migrate's refusal
	}{
		{"becomes enforced", "ALTER CHECK ck ENFORCED", true, "Check constraint 'ck' is not found"},
		{"added not enforced", "ADD CONSTRAINT ck2 CHECK (v > 1) NOT ENFORCED", false, ""},
		{"added enforced", "ADD CONSTRAINT ck2 CHECK (v > 1) ENFORCED", true, "is false for rows: 2 rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			if !sb.IsMySQL() {
				t.Skip("MariaDB has no NOT ENFORCED CHECK constraints")
			}
			sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT NULL, CONSTRAINT ck CHECK (v > 0) NOT ENFORCED)")
			sb.Exec(t, "INSERT INTO t VALUES (1, 0), (2, 5), (3, NULL), (4, -1)")
			p, err := migrate.NewPlan(context.Background(), planOptions(sb, "t", tc.alter))
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if refused := p.Verdict == migrate.VerdictRefused; refused != tc.refused {
				t.Fatalf("plan verdict %s (%s), want refused %v", p.Verdict, p.Reason, tc.refused)
			}
			if c := p.Check("check"); tc.refused && (len(c) != 1 || c[0].Rows != 2) {
				t.Fatalf("plan's CHECK findings %+v, want one of 2 rows (NULL passes)", c)
			}
			_, err = migrate.Run(context.Background(), options(sb, "t", tc.alter))
			if tc.refused {
				if !migrate.IsRefusal(err) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("migrate: %v, want a refusal saying %q", err, tc.want)
				}
				if got := tables(t, sb); strings.Join(got, ",") != "t" {
					t.Fatalf("tables after the refusal: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
		})
	}
}
