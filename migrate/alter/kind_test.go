package alter

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
)

// specOf parses one clause and returns its only spec, classified but not
// yet judged by the refusal policy, so refused kinds can be tested too.
func specOf(t *testing.T, clause string) Spec {
	t.Helper()
	stmt, ok := parseAlter(parser.New(), clausePrefix("t")+clause)
	if !ok {
		t.Fatalf("test clause %q does not parse", clause)
	}
	if len(stmt.Specs) != 1 {
		t.Fatalf("test clause %q has %d specs, want 1", clause, len(stmt.Specs))
	}
	return classifySpec(stmt.Specs[0])
}

func TestKindOfEverySpec(t *testing.T) {
	tests := []struct {
		clause  string
		kind    Kind
		columns []string
		index   string
		unique  bool
		text    string
	}{
		{"ADD COLUMN email VARCHAR(255) NOT NULL", AddColumn, []string{"email"}, "", false, "add column email VARCHAR(255)"},
		{"ADD (a INT, b BIGINT UNSIGNED)", AddColumn, []string{"a", "b"}, "", false, "add column a INT, b BIGINT UNSIGNED"},
		{"ADD c INT UNIQUE", AddColumn, []string{"c"}, "", true, "add column c INT"},
		{"DROP COLUMN d", DropColumn, []string{"d"}, "", false, "drop column d"},
		{"DROP d", DropColumn, []string{"d"}, "", false, "drop column d"},
		{"MODIFY c BIGINT NOT NULL AFTER a", ModifyColumn, []string{"c"}, "", false, "modify column c BIGINT"},
		{"CHANGE a b INT FIRST", ChangeColumn, []string{"b"}, "", false, "change column a to b INT"},
		{"CHANGE COLUMN a a BIGINT", ChangeColumn, []string{"a"}, "", false, "change column a BIGINT"},
		{"RENAME COLUMN a TO b", RenameColumn, []string{"b"}, "", false, "rename column a to b"},
		{"ALTER COLUMN c SET DEFAULT 5", AlterColumnDefault, []string{"c"}, "", false, "alter column c set default 5"},
		{"ALTER c DROP DEFAULT", AlterColumnDefault, []string{"c"}, "", false, "alter column c drop default"},
		{"ADD INDEX idx (a, b(10))", AddIndex, []string{"a", "b"}, "idx", false, "add index idx (a, b)"},
		{"ADD KEY (a)", AddIndex, []string{"a"}, "", false, "add index (a)"},
		{"ADD UNIQUE KEY uk (c)", AddUniqueKey, []string{"c"}, "uk", true, "add unique key uk (c)"},
		{"ADD CONSTRAINT u UNIQUE INDEX (c, d)", AddUniqueKey, []string{"c", "d"}, "u", true, "add unique key u (c, d)"},
		{"ADD PRIMARY KEY (id, c)", AddPrimaryKey, []string{"id", "c"}, "", true, "add primary key (id, c)"},
		{"ADD FULLTEXT INDEX ft (body)", AddFulltextIndex, []string{"body"}, "ft", false, "add fulltext index ft (body)"},
		{"DROP INDEX k", DropIndex, nil, "k", false, "drop index k"},
		{"DROP KEY k", DropIndex, nil, "k", false, "drop index k"},
		{"DROP PRIMARY KEY", DropPrimaryKey, nil, "", false, "drop primary key"},
		{"DROP INDEX `PRIMARY`", DropPrimaryKey, nil, "PRIMARY", false, "drop primary key"},
		{"RENAME INDEX a TO b", RenameIndex, nil, "b", false, "rename index a to b"},
		{"ALTER INDEX i INVISIBLE", IndexVisibility, nil, "i", false, "alter index i invisible"},
		{"CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", ConvertCharset, nil, "", false, "convert to character set utf8mb4 collate utf8mb4_bin"},
		{"ENGINE=InnoDB", TableOption, nil, "", false, "table options ENGINE = InnoDB"},
		{"DEFAULT CHARSET latin1", TableOption, nil, "", false, "table options DEFAULT CHARACTER SET = LATIN1"},
		{"COMMENT 'users' AUTO_INCREMENT=100", TableOption, nil, "", false, "table options COMMENT = 'users', AUTO_INCREMENT = 100"},
		{"FORCE", Force, nil, "", false, "force a rebuild"},
		{"ADD CONSTRAINT ck CHECK (a > 0)", AddCheck, nil, "ck", false, "add check ck (`a`>0)"},
		{"DROP CHECK ck", DropCheck, nil, "ck", false, "drop check ck"},
		{"DROP CONSTRAINT ck", DropCheck, nil, "ck", false, "drop check ck"},
		{"ALTER CHECK ck NOT ENFORCED", AlterCheck, nil, "ck", false, "alter check ck not enforced"},
		{"PARTITION BY HASH(id) PARTITIONS 4", PartitionBy, nil, "", false, "PARTITION BY HASH (`id`) PARTITIONS 4"},
		{"REMOVE PARTITIONING", RemovePartitioning, nil, "", false, "remove partitioning"},
		{"ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p(id)", AddForeignKey, []string{"a"}, "fk", false, "add foreign key fk (a)"},
		{"DROP FOREIGN KEY fk", DropForeignKey, nil, "fk", false, "drop foreign key fk"},
		{"ADD PARTITION (PARTITION p1 VALUES LESS THAN (10))", PartitionMaintenance, nil, "", false, ""},
		{"DROP PARTITION p1", PartitionMaintenance, nil, "", false, ""},
		{"TRUNCATE PARTITION p1", PartitionMaintenance, nil, "", false, ""},
		{"COALESCE PARTITION 2", PartitionMaintenance, nil, "", false, ""},
		{"REORGANIZE PARTITION p1 INTO (PARTITION p2 VALUES LESS THAN (5))", PartitionMaintenance, nil, "", false, ""},
		{"EXCHANGE PARTITION p1 WITH TABLE t2", PartitionMaintenance, nil, "", false, ""},
		{"REBUILD PARTITION p1", PartitionMaintenance, nil, "", false, ""},
		{"OPTIMIZE PARTITION p1", PartitionMaintenance, nil, "", false, ""},
		{"REPAIR PARTITION p1", PartitionMaintenance, nil, "", false, ""},
		{"CHECK PARTITION p1", PartitionMaintenance, nil, "", false, ""},
		{"DISCARD PARTITION p1 TABLESPACE", PartitionMaintenance, nil, "", false, ""},
		{"IMPORT PARTITION p1 TABLESPACE", PartitionMaintenance, nil, "", false, ""},
		{"ALGORITHM=INPLACE", Algorithm, nil, "", false, "ALGORITHM = INPLACE"},
		{"LOCK=NONE", Lock, nil, "", false, "LOCK = NONE"},
		{"RENAME TO u", RenameTable, nil, "", false, ""},
		{"RENAME AS u", RenameTable, nil, "", false, ""},
		{"ORDER BY a", OrderBy, nil, "", false, ""},
		{"DISCARD TABLESPACE", Tablespace, nil, "", false, ""},
		{"IMPORT TABLESPACE", Tablespace, nil, "", false, ""},
		{"DISABLE KEYS", Keys, nil, "", false, ""},
		{"ENABLE KEYS", Keys, nil, "", false, ""},
		{"SET TIFLASH REPLICA 1", TiDBOnly, nil, "", false, "SET TIFLASH REPLICA 1"},
		{"CACHE", TiDBOnly, nil, "", false, ""},
		{"SECONDARY_LOAD", Unknown, nil, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.clause, func(t *testing.T) {
			s := specOf(t, tt.clause)
			if s.Kind != tt.kind {
				t.Errorf("kind = %v, want %v", s.Kind, tt.kind)
			}
			if !slices.Equal(s.Columns, tt.columns) {
				t.Errorf("columns = %q, want %q", s.Columns, tt.columns)
			}
			if s.Index != tt.index {
				t.Errorf("index = %q, want %q", s.Index, tt.index)
			}
			if s.Unique != tt.unique {
				t.Errorf("unique = %v, want %v", s.Unique, tt.unique)
			}
			if tt.text != "" && s.Text != tt.text {
				t.Errorf("text = %q, want %q", s.Text, tt.text)
			}
			if s.Text == "" {
				t.Error("text is empty")
			}
			if s.AST == nil {
				t.Error("AST is nil")
			}
		})
	}
}

func TestKindNamesAreStableAndUnique(t *testing.T) {
	seen := map[string]Kind{}
	for k := Unknown; k <= TiDBOnly; k++ {
		name := k.String()
		if name == "" || name != strings.ToLower(name) || name == fmt.Sprintf("kind(%d)", int(k)) {
			t.Errorf("kind %d has no proper name: %q", int(k), name)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("kinds %d and %d share the name %q", int(prev), int(k), name)
		}
		seen[name] = k
	}
	if got := AddColumn.String(); got != "add-column" {
		t.Errorf("AddColumn.String() = %q", got)
	}
	if got := Kind(9999).String(); got != "kind(9999)" {
		t.Errorf("out of range kind = %q", got)
	}
	if b, _ := DropPrimaryKey.MarshalText(); string(b) != "drop-primary-key" {
		t.Errorf("MarshalText = %q", b)
	}
}
