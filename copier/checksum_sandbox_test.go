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
