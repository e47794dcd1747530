package sqlparse

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/charset"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

func parses(sql string) error {
	defer Reading()()
	_, _, err := parser.New().Parse(sql, "", "")
	return err
}

// TestAdd: what the server lists parses after Add, an ID the parser gives
// to another collation is not taken over, and adding twice changes nothing.
func TestAdd(t *testing.T) {
	const stmt = "ALTER TABLE t MODIFY c VARCHAR(64) CHARACTER SET testcs8 COLLATE testcs8_uca1400_ai_ci"
	if err := parses(stmt); err == nil || !strings.Contains(err.Error(), "Unknown character set") {
		t.Fatalf("before Add: %v, want Unknown character set", err)
	}
	tidb, err := charset.GetCollationByID(2048)
	if err != nil {
		t.Fatal(err)
	}
	cs := []Charset{{Name: "TestCS8", DefaultCollation: "testcs8_general_ci", Description: "test", MaxLen: 1}}
	co := []Collation{
		{Name: "testcs8_general_ci", Charset: "testcs8", ID: 900001, Default: true, SortLen: 1},
		{Name: "testcs8_uca1400_ai_ci", Charset: "testcs8", ID: 2048}, // MariaDB's utf8mb3_uca1400_ai_ci's ID
		{Name: "testcs_nopad_ci", ID: 0},                              // MariaDB lists some for no charset, without ID
	}
	for range 2 {
		Add(cs, co)
	}
	for _, sql := range []string{stmt, "ALTER TABLE t MODIFY c CHAR(3) CHARACTER SET testcs8", "ALTER TABLE t MODIFY c TEXT COLLATE testcs_nopad_ci"} {
		if err := parses(sql); err != nil {
			t.Errorf("after Add: %s: %v", sql, err)
		}
	}
	if got, _ := charset.GetCollationByID(2048); got != tidb {
		t.Errorf("collation 2048 is now %s, want the parser's own %s", got.Name, tidb.Name)
	}
	added, err := charset.GetCollationByName("testcs8_uca1400_ai_ci")
	if err != nil || added.ID < firstFreeID {
		t.Errorf("testcs8_uca1400_ai_ci: %+v, %v: want an ID of its own", added, err)
	}
	nopad, err := charset.GetCollationByName("testcs_nopad_ci")
	if err != nil || nopad.ID < firstFreeID || nopad.PadAttribute != charset.PadNone {
		t.Errorf("testcs_nopad_ci: %+v, %v: want an ID of its own and NO PAD", nopad, err)
	}
	if id := added.ID; nopad.ID == id {
		t.Errorf("two collations share ID %d", id)
	}
}

// TestAddWhileParsing registers while other goroutines parse; run with
// -race, an unguarded write to the parser's maps is reported.
func TestAddWhileParsing(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				_ = parses("ALTER TABLE t MODIFY c VARCHAR(5) CHARACTER SET latin1 COLLATE latin1_bin")
				if g == 0 {
					name := "racecs" + strings.Repeat("x", i%7)
					Add([]Charset{{Name: name, DefaultCollation: name + "_bin", MaxLen: 1}},
						[]Collation{{Name: name + "_bin", Charset: name, ID: 3000 + i%7}})
				}
			}
		}()
	}
	wg.Wait()
}

// TestRegisterServer: every charset and collation the server lists
// parses once registered, in a column definition as in CONVERT TO.
func TestRegisterServer(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := context.Background()
	for range 2 { // a second connect registers nothing new
		if err := Register(ctx, sb.DB); err != nil {
			t.Fatal(err)
		}
	}
	charsets, collations, err := Load(ctx, sb.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(charsets) < 20 || len(collations) < 100 {
		t.Fatalf("server lists %d charsets and %d collations: too few to be the whole list", len(charsets), len(collations))
	}
	for _, cs := range charsets {
		for _, sql := range []string{
			"ALTER TABLE t MODIFY c VARCHAR(64) CHARACTER SET " + cs.Name,
			"ALTER TABLE t CONVERT TO CHARACTER SET " + cs.Name,
		} {
			if err := parses(sql); err != nil {
				t.Errorf("%s: %v", sql, err)
			}
		}
	}
	for _, co := range collations {
		sql := "ALTER TABLE t MODIFY c VARCHAR(64) COLLATE " + co.Name
		if co.Charset != "" {
			sql = "ALTER TABLE t MODIFY c VARCHAR(64) CHARACTER SET " + co.Charset + " COLLATE " + co.Name
		}
		if err := parses(sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
}
