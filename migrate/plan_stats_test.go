package migrate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// TestPlanStaleStatistics plans right after a bulk load that the
// server's statistics have not seen: the table analyzed while empty,
// with STATS_AUTO_RECALC=0, then filled. information_schema.TABLES then
// says one page of data (MariaDB keeps counting the rows in memory;
// MySQL serves its cached zero for the rows too). The plan must size the
// copy from its own measure, and say why.
func TestPlanStaleStatistics(t *testing.T) {
	t.Parallel()
	const n = 200_000
	for _, tc := range []struct {
		name, keyType, keyValue string
		minRows, maxRows        int64 // what the plan may say
	}{
		// The key's density, probed across its range.
		{"integer key", "BIGINT NOT NULL AUTO_INCREMENT", "NULL", n * 9 / 10, n * 11 / 10},
		// No integer key: a count bounded at five samples (100,000 rows),
		// a lower bound where the server says fewer.
		{"text key", "VARCHAR(20) NOT NULL", "CONCAT('k', seq)", n / 2, n * 11 / 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := sandboxtest.New(t)
			sb.Exec(t, "CREATE TABLE t (id "+tc.keyType+" PRIMARY KEY, a CHAR(32) NOT NULL, KEY (a)) STATS_PERSISTENT=1 STATS_AUTO_RECALC=0")
			sb.Exec(t, "ANALYZE TABLE t")
			sb.Exec(t, "INSERT INTO t (id, a) SELECT "+tc.keyValue+", LEFT(SHA2(seq, 256), 32) FROM seq_1_to_200000") // MySQL 9.7 has no MD5()
			// The values alone: 32 bytes of a a row, and the key.
			const rawBytes = n * 32
			if data := queryInt64(t, sb, "SELECT DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'"); data*4 > rawBytes {
				t.Fatalf("DATA_LENGTH is %d after loading %d bytes of values: the setup did not leave the statistics stale", data, rawBytes)
			}

			p, err := migrate.NewPlan(context.Background(), planOptions(sb, "t", "ADD COLUMN c INT"))
			if err != nil {
				t.Fatal(err)
			}
			sz := p.Size
			t.Logf("size %+v, stale %+v, estimate rows %d", *sz, sz.Stale, p.Estimate.Rows)
			if sz.RowsEstimate < tc.minRows || sz.RowsEstimate > tc.maxRows || p.Estimate.Rows != sz.RowsEstimate {
				t.Errorf("plan says %d rows (estimate for %d), want %d-%d: %s", sz.RowsEstimate, p.Estimate.Rows, tc.minRows, tc.maxRows, sz.RowsBasis)
			}
			if sz.DataBytes < sz.RowsEstimate*32 || p.Disk.ShadowBytes < sz.RowsEstimate*32 {
				t.Errorf("plan says data %d bytes, the new table %d, for %d rows of 32 bytes and more", sz.DataBytes, p.Disk.ShadowBytes, sz.RowsEstimate)
			}
			if sz.Stale == nil || sz.Stale.DataBytes*4 > rawBytes {
				t.Errorf("plan does not report the stale statistics it set aside: %+v", sz.Stale)
			}
			checks := p.Check("statistics")
			if len(checks) != 1 || checks[0].Status != migrate.CheckWarning ||
				!strings.Contains(checks[0].Message, "stale") || !strings.Contains(checks[0].Fix, "ANALYZE TABLE") {
				t.Errorf("statistics check %+v, want one warning saying they are stale and to ANALYZE TABLE", checks)
			}

			// Refreshed, the statistics are the plan's figures again.
			sb.Exec(t, "ANALYZE TABLE t")
			p, err = migrate.NewPlan(context.Background(), planOptions(sb, "t", "ADD COLUMN c INT"))
			if err != nil {
				t.Fatal(err)
			}
			if checks := p.Check("statistics"); len(checks) != 1 || checks[0].Status != migrate.CheckOK || p.Size.Stale != nil {
				t.Errorf("after ANALYZE TABLE: statistics check %+v, stale %+v; want ok and none", checks, p.Size.Stale)
			}
			if p.Size.RowsBasis != "the server's estimate" {
				t.Errorf("after ANALYZE TABLE the rows come from %q, want the server's estimate", p.Size.RowsBasis)
			}
		})
	}
}

func queryInt64(t *testing.T, sb *sandboxtest.Sandbox, q string) int64 {
	t.Helper()
	var v int64
	if err := sb.DB.QueryRow(q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}
