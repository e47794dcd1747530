package sbtest

import (
	"context"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestFill fills the table on the sandbox's server, across a batch
// boundary and past MySQL's default CTE recursion limit of 1,000, and
// compares it with Row: the bench's and the demo's models assume they
// agree, on every flavor.
func TestFill(t *testing.T) {
	s := sandboxtest.New(t)
	ctx := context.Background()
	srv, err := Detect(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	if srv.MariaDB == s.IsMySQL() {
		t.Fatalf("Detect says MariaDB %v for %s", srv.MariaDB, srv.Version)
	}
	s.Exec(t, "CREATE TABLE sbtest (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k (k)) ENGINE=InnoDB")
	const n = Batch + 3
	if err := Fill(ctx, s.DB, srv, "sbtest", n, "/* sbtest */ "); err != nil {
		t.Fatalf("%s: %v", srv, err)
	}
	var (
		rows, lo, hi int64
		xor          uint32
	)
	if err := s.DB.QueryRow("SELECT COUNT(*), MIN(id), MAX(id), BIT_XOR(CRC32(CONCAT_WS('#', id, k, c, pad))) FROM sbtest").Scan(&rows, &lo, &hi, &xor); err != nil {
		t.Fatal(err)
	}
	var want uint32
	for id := int64(1); id <= n; id++ {
		k, c, pad := Row(id)
		want ^= crc32.ChecksumIEEE(fmt.Appendf(nil, "%d#%d#%s#%s", id, k, c, pad))
	}
	if rows != n || lo != 1 || hi != n || xor != want {
		t.Errorf("%s: filled %d rows, ids %d..%d, crc32 xor %08x; want %d rows, 1..%d, %08x", srv, rows, lo, hi, xor, n, n, want)
	}
}
