package copier

import (
	"fmt"
	"testing"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestChecksumCatchesTwinChanges changes two rows of the shadow by the
// same bytes at the same place. CRC32 is linear, so an XOR of the row
// CRCs cannot see it (the test checks that first, or it would prove
// nothing); the sum the checksum takes must, with either hash.
func TestChecksumCatchesTwinChanges(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE src (id INT NOT NULL PRIMARY KEY, v CHAR(2) NOT NULL) ENGINE=InnoDB")
	sb.Exec(t, "INSERT INTO src VALUES (1, 'aa'), (2, 'aa'), (3, 'zz')")
	sb.Exec(t, "CREATE TABLE `_src_new` LIKE src")
	sb.Exec(t, "INSERT INTO `_src_new` VALUES (1, 'bb'), (2, 'bb'), (3, 'zz')")
	db := openGodwit(t, sb)
	p := planFor(t, sb, "src", "_src_new", "PRIMARY")
	p.Compared = CompareAsStored("id", "v")

	xor := func(table string) string {
		var s string
		q := fmt.Sprintf("SELECT BIT_XOR(CRC32(%s)) FROM %s", p.rowHash(false), mysqlx.Q(table))
		if err := sb.DB.QueryRow(q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if a, b := xor("src"), xor("_src_new"); a != b {
		t.Fatalf("the XOR of CRC32s differs (%s, %s): the rows do not cancel, the test proves nothing", a, b)
	}
	for _, crc32c := range []bool{false, true} {
		t.Run(fmt.Sprintf("crc32c=%v", crc32c), func(t *testing.T) {
			p.CRC32C = crc32c
			if crc32c && sb.DB.QueryRow("SELECT CRC32C('')").Err() != nil {
				t.Skip("the server has no CRC32C() (MariaDB 10.8+ has it, MySQL does not): the CRC32 case covers it")
			}
			res, err := p.Checksum(t.Context(), [2]Querier{db, db}, db, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != 3 || len(res.Mismatched) != 1 {
				t.Fatalf("checksum of 3 rows with 2 changed: %d rows, %d mismatched chunks, want 3 and 1", res.Rows, len(res.Mismatched))
			}
			if len(res.Examples) != 2 {
				t.Errorf("differing keys %v, want the two changed rows", res.Examples)
			}
		})
	}
}

// TestChecksumMixedCollations: a column whose collation the ALTER changes
// is compared as stored, beside binary columns. Hashed as text, the row
// mixed two collations on the shadow's side, and MariaDB 11 then turned
// the blob's invalid UTF-8 bytes into '?' there: equal tables differed.
func TestChecksumMixedCollations(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE src (id INT NOT NULL PRIMARY KEY, a VARCHAR(20), b BLOB, c TEXT) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
	sb.Exec(t, "INSERT INTO src VALUES (1, 'abc', UNHEX('84FEE100'), 'x'), (2, 'é😀', UNHEX('C3'), NULL), (3, NULL, NULL, 'z')")
	sb.Exec(t, "CREATE TABLE `_src_new` LIKE src")
	sb.Exec(t, "ALTER TABLE `_src_new` MODIFY a VARCHAR(40) CHARACTER SET utf8mb4") // the charset's default collation: uca1400 on MariaDB 11.8, 0900 on MySQL
	sb.Exec(t, "INSERT INTO `_src_new` SELECT * FROM src")
	db := openGodwit(t, sb)
	p := planFor(t, sb, "src", "_src_new", "PRIMARY")
	p.Compared = CompareAsStored("id", "a", "c", "b") // two collations, then the blob
	res, err := p.Checksum(t.Context(), [2]Querier{db, db}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || len(res.Mismatched) != 0 {
		t.Fatalf("checksum of 3 equal rows: %d rows, %d mismatched chunks %v", res.Rows, len(res.Mismatched), res.Examples)
	}
	sb.Exec(t, "UPDATE `_src_new` SET b = UNHEX('85FEE100') WHERE id = 1") // another invalid byte, also '?' as text
	if res, err = p.Checksum(t.Context(), [2]Querier{db, db}, db, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(res.Mismatched) != 1 {
		t.Fatalf("a blob differing in one byte: %d mismatched chunks, want 1", len(res.Mismatched))
	}
}
