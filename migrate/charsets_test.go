package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// charsetCandidates are the characters tried in every charset: ASCII
// letters and digits, and one or two of many scripts. Which of them a
// charset holds, the server says.
var charsetCandidates = []string{
	"A", "z", "0", "9", " ", "é", "ß", "Å", "ł", "ř", "ő", "ğ", "ą", "Ж", "ї", "α", "ש", "ع", "ก", "ა", "Ա",
	"€", "中", "日", "カ", "한", "😀",
}

// charsetColumn is one column of the test: the charset it migrates into,
// a text it can hold and, if any, a character it cannot.
type charsetColumn struct {
	name, charset, collation, fits, misfit string
}

// charsetColumns asks the server, for each charset it lists, which of the
// candidates survive a round trip through it.
func charsetColumns(t *testing.T, sb *sandboxtest.Sandbox) []charsetColumn {
	t.Helper()
	var cols []charsetColumn
	for _, cs := range sb.Strings(t, "SELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS ORDER BY 1") {
		c := charsetColumn{name: "c_" + cs, charset: cs}
		for _, ch := range charsetCandidates {
			var ok bool
			q := fmt.Sprintf("SELECT CAST(CONVERT(CONVERT(? USING %s) USING utf8mb4) AS BINARY) = CAST(? AS BINARY)", cs)
			if err := sb.DB.QueryRow(q, ch, ch).Scan(&ok); err != nil {
				t.Fatalf("%s: %v", cs, err)
			}
			switch {
			case ok:
				c.fits += ch
			case c.misfit == "":
				c.misfit = ch
			}
		}
		if len(c.fits) < 4 {
			t.Fatalf("charset %s holds only %q of the candidates", cs, c.fits)
		}
		cols = append(cols, c)
	}
	// MariaDB's uca1400 collations, by their full name.
	for i, c := range cols {
		if c.charset != "utf8mb4" {
			continue
		}
		for _, name := range []string{"utf8mb4_uca1400_ai_ci", "utf8mb4_0900_as_cs"} {
			if len(sb.Strings(t, "SELECT CHARACTER_SET_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE "+
				"COLLATION_NAME = ? OR "+fullCollationName(sb)+" = ?", name, name)) > 0 {
				cols[i].collation = name
				break
			}
		}
		if cols[i].collation == "" {
			t.Fatal("the server has neither MariaDB's uca1400 nor MySQL's 0900 collations")
		}
	}
	return cols
}

// fullCollationName is MariaDB's column naming a collation with its
// charset (utf8mb4_uca1400_ai_ci); MySQL has only COLLATION_NAME.
func fullCollationName(sb *sandboxtest.Sandbox) string {
	if sb.IsMySQL() {
		return "COLLATION_NAME"
	}
	return "FULL_COLLATION_NAME"
}

func modifyTo(cols []charsetColumn, into bool) string {
	specs := make([]string, len(cols))
	for i, c := range cols {
		cs := "utf8mb4"
		coll := ""
		if into {
			cs = c.charset
			if c.collation != "" {
				coll = " COLLATE " + c.collation
			}
		}
		specs[i] = fmt.Sprintf("MODIFY %s VARCHAR(64) CHARACTER SET %s%s NOT NULL DEFAULT '%s'", mysqlx.Q(c.name), cs, coll, c.fits)
	}
	return strings.Join(specs, ", ")
}

// TestEveryCharset migrates a column into every charset the server lists
// and back to utf8mb4 under writes, each holding text it can represent,
// and compares the table with the writers' model after each swap. Then a
// character a charset cannot hold makes the migration into it refused,
// the value untouched and nothing left behind.
func TestEveryCharset(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cols := charsetColumns(t, sb)
	model := workloadTable(ctx, t, sb, 3000, 1)
	var add []string
	want := workload.Expect{Added: map[string]*string{}}
	for _, c := range cols {
		add = append(add, fmt.Sprintf("ADD COLUMN %s VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL DEFAULT '%s'", mysqlx.Q(c.name), c.fits))
		want.Added[c.name] = &c.fits
	}
	sb.Exec(t, "ALTER TABLE t "+strings.Join(add, ", "))

	for _, into := range []bool{true, false} {
		run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 200, Seed: 2})
		time.Sleep(200 * time.Millisecond)
		_, err := migrate.Run(ctx, options(sb, "t", modifyTo(cols, into)))
		time.Sleep(200 * time.Millisecond)
		stats, werr := run.Stop()
		if err != nil {
			t.Fatalf("migrate (into the charsets: %v): %v", into, err)
		}
		if werr != nil {
			t.Fatalf("writers: %v", werr)
		}
		if stats.Inserts == 0 || stats.Updates == 0 {
			t.Fatalf("the writers did not write: %+v", stats)
		}
		for _, c := range cols {
			wantCS := "utf8mb4"
			if into {
				wantCS = c.charset
			}
			if got := sb.Strings(t, "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "+
				"AND TABLE_NAME = 't' AND COLUMN_NAME = ?", c.name); len(got) != 1 || got[0] != wantCS && !(c.charset == "binary" && into) {
				t.Errorf("column %s is in %v after the migration, want %s", c.name, got, wantCS)
			}
		}
		if err := model.Compare(ctx, sb.DB, "t", want); err != nil {
			t.Fatalf("into the charsets %v: the table differs from what the writers committed: %v", into, err)
		}
		sb.Exec(t, "DROP TABLE _t_old")
	}

	// A value a charset cannot hold: refused, not mangled.
	var set, misfits []string
	for _, c := range cols {
		if c.misfit != "" {
			set = append(set, fmt.Sprintf("%s = '%s'", mysqlx.Q(c.name), c.fits+c.misfit))
			misfits = append(misfits, c.name)
		}
	}
	if len(misfits) < len(cols)/2 {
		t.Fatalf("only %d of %d charsets cannot hold one of the candidates", len(misfits), len(cols))
	}
	id := sb.Strings(t, "SELECT MIN(id) FROM t")[0]
	sb.Exec(t, "UPDATE t SET "+strings.Join(set, ", ")+" WHERE id = ?", id)
	before := sb.Strings(t, "SELECT CONCAT_WS('|', "+columnList(cols)+") FROM t WHERE id = ?", id)
	_, err := migrate.Run(ctx, options(sb, "t", modifyTo(cols, true)))
	var r *migrate.Refusal
	if !errors.As(err, &r) || r.Check != "data" {
		t.Fatalf("migrate over values the charsets cannot hold: %v, want a refusal of the data check", err)
	}
	for _, name := range misfits {
		if !strings.Contains(r.Reason, "column "+name+": characters") {
			t.Errorf("the refusal does not name column %s: %s", name, r.Reason)
		}
	}
	if after := sb.Strings(t, "SELECT CONCAT_WS('|', "+columnList(cols)+") FROM t WHERE id = ?", id); after[0] != before[0] {
		t.Errorf("the row changed: %q, was %q", after[0], before[0])
	}
	if got := tables(t, sb); strings.Join(got, ",") != "t" {
		t.Errorf("tables after the refusal: %v, want [t]", got)
	}
}

func columnList(cols []charsetColumn) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = mysqlx.Q(c.name)
	}
	return strings.Join(names, ", ")
}
