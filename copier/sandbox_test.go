package copier

// Integration tests against the MariaDB sandbox (internal/sandboxtest):
//
//	testdata/sandbox/with-sandbox.sh go test -count=1 ./copier/
//
// Without the sandbox they skip (or fail when CI=true).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// connConfig is the sandbox database as godwit connects to it.
func connConfig(sb *sandboxtest.Sandbox) mysqlx.Config {
	return mysqlx.Config{Host: sb.Host, Port: sb.Port, User: sb.User, Password: sb.Password, Database: sb.Database}
}

// openGodwit opens a pool with godwit's own session settings.
func openGodwit(t *testing.T, sb *sandboxtest.Sandbox) *sql.DB {
	t.Helper()
	db, err := mysqlx.Open(t.Context(), connConfig(sb))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// planFor builds by hand the plan migrate would: every column of source
// into the same-named column of shadow, keyed by index.
func planFor(t *testing.T, sb *sandboxtest.Sandbox, source, shadow, index string) *Plan {
	t.Helper()
	src, err := tableinfo.Load(t.Context(), sb.DB, sb.Database, source)
	if err != nil {
		t.Fatal(err)
	}
	ix, ok := src.Index(index)
	if !ok {
		t.Fatalf("%s has no index %s", source, index)
	}
	p := &Plan{Schema: sb.Database, Source: source, Shadow: shadow, Key: Key{Index: ix.Name}}
	for _, name := range ix.Columns {
		c, ok := src.Column(name)
		if !ok || !SupportedKeyType(*c) {
			t.Fatalf("key column %s: %v", name, c)
		}
		p.Key.Columns = append(p.Key.Columns, KeyColumn{Column: *c, ShadowName: c.Name})
	}
	for _, c := range src.Columns {
		p.SourceCols = append(p.SourceCols, c.Name)
		p.ShadowCols = append(p.ShadowCols, c.Name)
	}
	p.Compared = CompareAsStored(p.SourceCols...)
	return p
}

// startStream follows the binlog from the current position for p's source.
func startStream(t *testing.T, sb *sandboxtest.Sandbox, db *sql.DB, p *Plan, changes *Changes) *Stream {
	t.Helper()
	pt, err := MasterPoint(t.Context(), db, flavor(sb))
	if err != nil {
		t.Fatal(err)
	}
	s, err := StartStream(context.Background(), StreamConfig{
		Conn: connConfig(sb), Flavor: flavor(sb), Schema: sb.Database, Table: p.Source, Key: p.Key,
	}, pt, changes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// flavor is the sandbox's server family as go-mysql names it.
func flavor(sb *sandboxtest.Sandbox) string {
	if sb.IsMySQL() {
		return "mysql"
	}
	return "mariadb"
}

// catchUp waits until the stream has read everything written so far and
// applies the pending changes until none is left.
func catchUp(t *testing.T, db *sql.DB, s *Stream, c *Copier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	pos, err := MasterPosition(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor(ctx, pos); err != nil {
		t.Fatalf("stream did not reach %s: %v", pos, err)
	}
	for i := 0; c.Changes.Len() > 0 || i == 0; i++ {
		if i == 10 {
			t.Fatalf("still %d changes pending after 10 flushes", c.Changes.Len())
		}
		if _, err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
}

// dump reads a table in key order as text, one string per row; HEX of
// every column so that case and trailing bytes count.
func dump(t *testing.T, db *sql.DB, p *Plan, table string) []string {
	t.Helper()
	hexed := make([]string, len(p.SourceCols))
	for i, c := range p.SourceCols {
		hexed[i] = "HEX(" + mysqlx.Q(c) + ")"
	}
	q := fmt.Sprintf("SELECT CONCAT_WS('|', %s) FROM %s ORDER BY %s",
		strings.Join(hexed, ", "), mysqlx.QT(p.Schema, table), mysqlx.QList(p.Key.names(false)))
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameRows fails the test when the shadow differs from the source, with
// the first differences; it also checks with SQL that no source row is
// missing from the shadow and no shadow row is extra (a NULL-safe join on
// every column, bytes compared exactly).
func sameRows(t *testing.T, db *sql.DB, p *Plan) {
	t.Helper()
	src, dst := dump(t, db, p, p.Source), dump(t, db, p, p.Shadow)
	if len(src) == 0 {
		t.Fatal("the source is empty: nothing was tested")
	}
	diffs := 0
	for i := 0; i < max(len(src), len(dst)) && diffs < 5; i++ {
		var s, d string
		if i < len(src) {
			s = src[i]
		}
		if i < len(dst) {
			d = dst[i]
		}
		if s != d {
			t.Errorf("row %d: source %q, shadow %q", i+1, s, d)
			diffs++
		}
	}
	if len(src) != len(dst) {
		t.Errorf("source has %d rows, shadow %d", len(src), len(dst))
	}
	var on []string
	for i, c := range p.SourceCols {
		on = append(on, fmt.Sprintf("BINARY s.%s <=> BINARY d.%s", mysqlx.Q(c), mysqlx.Q(p.ShadowCols[i])))
	}
	for _, dir := range [][2]string{{p.Source, p.Shadow}, {p.Shadow, p.Source}} {
		q := fmt.Sprintf("SELECT COUNT(*) FROM %s s LEFT JOIN %s d ON %s WHERE d.%s IS NULL",
			mysqlx.QT(p.Schema, dir[0]), mysqlx.QT(p.Schema, dir[1]), strings.Join(on, " AND "), mysqlx.Q(p.ShadowCols[0]))
		var n int
		if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n != 0 {
			t.Errorf("%d rows of %s have no identical row in %s", n, dir[0], dir[1])
		}
	}
}

// Key values for the composite-key test: case and accent variants that
// utf8mb4_general_ci orders as equal, 4-byte characters (all equal to
// each other in general_ci), trailing spaces (PAD SPACE), and unsigned
// values around 2^31, 2^32, 2^53, 2^63 and 2^64.
var (
	compositeA = []string{"a", "A", "á", "Á", "ä", "abc", "ABC", "aBc", "abc ", "straße", "STRASSE",
		"strase", "😀", "😁", "𝄞", "𝄞x", "x😀y", "zz", "ZZ", "é", "e", "E", "", " ", "ñ", "N", "中文", "日本"}
	compositeB = []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 42, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32,
		1<<53 + 1, 1<<63 - 1, 1 << 63, 1<<63 + 1, 1<<64 - 2, 1<<64 - 1}
)

// TestCopyCompositeKeyUnderWrites copies a table keyed by (VARCHAR
// utf8mb4_general_ci, BIGINT UNSIGNED) in chunks of 7 rows while a writer
// inserts, updates, deletes and changes keys; after catch-up the shadow
// must equal the source byte for byte, with one chunk at a time and with
// rounds of three chunks copied at once.
func TestCopyCompositeKeyUnderWrites(t *testing.T) {
	for _, threads := range []int{1, 3} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) { copyCompositeKeyUnderWrites(t, threads) })
	}
}

func copyCompositeKeyUnderWrites(t *testing.T, threads int) {
	sb := sandboxtest.New(t)
	sb.Exec(t, `CREATE TABLE src (
		a VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL,
		b BIGINT UNSIGNED NOT NULL,
		v VARCHAR(40) CHARACTER SET utf8mb4 NULL,
		n INT NOT NULL DEFAULT 0,
		u TINYINT UNSIGNED NOT NULL DEFAULT 255,
		PRIMARY KEY (a, b)
	) ENGINE=InnoDB`)
	sb.Exec(t, "CREATE TABLE `_src_new` LIKE src")

	seed := rand.Uint64()
	t.Logf("random seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	pickA := func(r *rand.Rand) string { return compositeA[r.IntN(len(compositeA))] }
	pickB := func(r *rand.Rand) uint64 { return compositeB[r.IntN(len(compositeB))] }
	for i := range 400 {
		sb.Exec(t, "INSERT IGNORE INTO src (a, b, v, n) VALUES (?, ?, ?, ?)", pickA(r), pickB(r), fmt.Sprintf("seed %d 😀", i), i)
	}
	var seeded int
	if err := sb.DB.QueryRow("SELECT COUNT(*) FROM src").Scan(&seeded); err != nil {
		t.Fatal(err)
	}

	db := openGodwit(t, sb)
	p := planFor(t, sb, "src", "_src_new", "PRIMARY")
	changes := NewChanges()
	changes.TrackTouched(100_000)
	stream := startStream(t, sb, db, p, changes)

	// The writer: a bounded number of statements of every kind, on random
	// keys of the same small key space (so most of them hit rows), spread
	// over the copy.
	const statements = 500
	var copying atomic.Bool
	var written, duringCopy, failed atomic.Int64
	writerDone := make(chan struct{})
	var writerErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(writerDone)
		w := rand.New(rand.NewPCG(seed, 2))
		stmts := []func() error{
			func() error {
				_, err := sb.DB.Exec("INSERT IGNORE INTO src (a, b, v) VALUES (?, ?, 'new')", pickA(w), pickB(w))
				return err
			},
			func() error {
				_, err := sb.DB.Exec("UPDATE src SET v = CONCAT('upd ', n), n = n + 1 WHERE a = ? AND b = ?", pickA(w), pickB(w))
				return err
			},
			func() error {
				_, err := sb.DB.Exec("DELETE FROM src WHERE a = ? AND b = ?", pickA(w), pickB(w))
				return err
			},
			func() error { // key change, to anywhere in the key space
				_, err := sb.DB.Exec("UPDATE IGNORE src SET a = ?, b = ? WHERE a = ? AND b = ?", pickA(w), pickB(w), pickA(w), pickB(w))
				return err
			},
			func() error { // same key for the collation, other bytes
				_, err := sb.DB.Exec("UPDATE src SET a = IF(BINARY a = UPPER(a), LOWER(a), UPPER(a)) WHERE a = ? AND b = ?", pickA(w), pickB(w))
				return err
			},
			func() error { // every case variant at once
				_, err := sb.DB.Exec("UPDATE src SET n = n + 10, u = u - 1 WHERE a = ? AND u > 0", pickA(w))
				return err
			},
			func() error { // REPLACE with a case variant replaces the row's key bytes
				_, err := sb.DB.Exec("REPLACE INTO src (a, b, v) VALUES (?, ?, 'replaced')", pickA(w), pickB(w))
				return err
			},
			func() error {
				_, err := sb.DB.Exec("INSERT INTO src (a, b, v) VALUES (?, ?, 'odku') ON DUPLICATE KEY UPDATE v = 'odku upd', n = n + 100", pickA(w), pickB(w))
				return err
			},
			func() error {
				_, err := sb.DB.Exec("DELETE FROM src WHERE b = ? ORDER BY a LIMIT 2", pickB(w))
				return err
			},
			func() error { // a transaction of several changes
				tx, err := sb.DB.Begin()
				if err != nil {
					return err
				}
				defer tx.Rollback()
				a, b := pickA(w), pickB(w)
				if _, err := tx.Exec("DELETE FROM src WHERE a = ? AND b = ?", a, b); err != nil {
					return err
				}
				if _, err := tx.Exec("INSERT IGNORE INTO src (a, b, v) VALUES (?, ?, 'tx')", strings.ToUpper(a), b); err != nil {
					return err
				}
				if _, err := tx.Exec("UPDATE IGNORE src SET b = ? WHERE a = ? AND b = ?", pickB(w), pickA(w), pickB(w)); err != nil {
					return err
				}
				return tx.Commit()
			},
		}
		for range statements {
			err := stmts[w.IntN(len(stmts))]()
			if code := mysqlx.ErrCode(err); code == mysqlx.ErrDeadlock || code == mysqlx.ErrLockWaitTimeout {
				failed.Add(1)
				continue
			}
			if err != nil {
				writerErr = err
				return
			}
			if copying.Load() {
				duringCopy.Add(1)
			}
			written.Add(1)
		}
	}()

	c := &Copier{
		DB: db, Plan: p, Changes: changes,
		ChunkTime: 50 * time.Millisecond, MinChunk: 1, MaxChunk: 7, Threads: threads,
		// Interleave: before each round, let the writer run a dozen
		// statements a chunk, so that most writes land between chunks.
		Wait: func(ctx context.Context) error {
			target := written.Load() + 12*int64(threads)
			for written.Load() < target {
				select {
				case <-writerDone:
					return stream.Err()
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(200 * time.Microsecond):
				}
			}
			return stream.Err()
		},
	}
	// Copier starts at 1000 rows whatever MaxChunk says (reported bug);
	// start at 7 so that every chunk is tiny.
	c.defaults()
	c.progress.ChunkSize = 7
	verifier := StartVerifier(t.Context(), p, db, changes, nil)
	defer verifier.Stop()
	c.Copied = verifier.Add
	copying.Store(true)
	err := c.Run(t.Context())
	copying.Store(false)
	wg.Wait()
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if writerErr != nil {
		t.Fatalf("writer: %v", writerErr)
	}
	catchUp(t, db, stream, c)

	pr := c.Progress()
	t.Logf("seeded %d rows; copied %d in %d chunks, applied %d; %d of %d statements during the copy, %d deadlocks; %d row changes seen",
		seeded, pr.RowsCopied, pr.Chunks, pr.RowsApplied, duringCopy.Load(), statements, failed.Load(), changes.Seen())
	// The writer deletes rows meanwhile: fewer chunks than seeded/7.
	if !pr.Done || pr.Chunks < int64(seeded/14) || pr.ChunkSize > 7 {
		t.Errorf("progress %+v: want done in chunks of at most 7 rows, at least %d of them", pr, seeded/14)
	}
	if duringCopy.Load() < statements/2 {
		t.Errorf("only %d of %d writes happened while copying", duringCopy.Load(), statements)
	}
	sameRows(t, db, p)

	// The checks during the copy covered every chunk; every key the writer
	// touched, and every key that differed then, compare equal now.
	v, err := verifier.Finish(t.Context())
	if err != nil || !v.Complete || v.Chunks != pr.Chunks {
		t.Fatalf("verified during the copy: %+v (%v), want complete over %d chunks", v, err, pr.Chunks)
	}
	keys, ok := changes.Touched()
	if !ok || len(keys) == 0 {
		t.Fatalf("touched keys: %d (%v)", len(keys), ok)
	}
	res := checksumRest(t, db, p, keys, v.Splits)
	t.Logf("during the copy: %d chunks, %d rows, %d differed (%d keys); after: %d keys compared again", v.Chunks, v.Rows, v.Differed, v.Suspects, res.Keys)
	if len(res.MismatchedKeys) != 0 || res.Counts[0] != res.Counts[1] || res.Keys != int64(len(keys)) {
		t.Fatalf("checksum of the rest: %+v, want no difference over %d keys", res, len(keys))
	}
}

// compositeBug: Key.compare renders "(x) OR (y)" for a composite key and
// its callers AND it to another condition without parentheses.
const compositeBug = "composite keys: chunker.go whereOn and apply.go AND an unparenthesized compare() (SQL precedence)"

// TestCopyCompositeKeys copies, without writes, tables keyed by two and
// three columns in chunks of 7 rows.
func TestCopyCompositeKeys(t *testing.T) {
	sb := sandboxtest.New(t)
	for _, tc := range []struct{ name, create, fill string }{
		{"int_int", "CREATE TABLE %s (a INT NOT NULL, b INT NOT NULL, v INT, PRIMARY KEY (a, b))",
			"INSERT INTO %s SELECT seq DIV 5, seq MOD 5, seq FROM seq_0_to_99"},
		{"int_text_unsigned", `CREATE TABLE %s (a INT NOT NULL, b VARCHAR(8) COLLATE utf8mb4_general_ci NOT NULL,
			c BIGINT UNSIGNED NOT NULL, v INT, PRIMARY KEY (a, b, c))`,
			"INSERT INTO %s SELECT seq DIV 30, ELT(1 + seq DIV 5 MOD 6, 'a', 'B', 'c', 'D', 'é', '😀'), 18446744073709551615 - seq MOD 5, seq FROM seq_0_to_119"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, shadow := "c_"+tc.name, "_c_"+tc.name+"_new"
			sb.Exec(t, fmt.Sprintf(tc.create, src))
			sb.Exec(t, fmt.Sprintf("CREATE TABLE %s LIKE %s", shadow, src))
			sb.Exec(t, fmt.Sprintf(tc.fill, src))
			db := openGodwit(t, sb)
			p := planFor(t, sb, src, shadow, "PRIMARY")
			c := &Copier{DB: db, Plan: p, Changes: NewChanges(), MinChunk: 1, MaxChunk: 7}
			c.defaults()
			c.progress.ChunkSize = 7
			if err := c.Run(t.Context()); err != nil {
				t.Fatalf("copy: %v (progress %+v)", err, c.Progress())
			}
			sameRows(t, db, p)
		})
	}
}

// keyTypeCase is a key column type with values that stress its
// conversion from the binlog.
type keyTypeCase struct {
	name   string
	typ    string
	values []string // SQL literals
}

var keyTypeCases = []keyTypeCase{
	{"tinyint_unsigned", "TINYINT UNSIGNED", []string{"0", "1", "127", "128", "254", "255"}},
	{"smallint_unsigned", "SMALLINT UNSIGNED", []string{"0", "32767", "32768", "65535"}},
	{"mediumint_unsigned", "MEDIUMINT UNSIGNED", []string{"0", "8388607", "8388608", "16777215"}},
	{"int_unsigned", "INT UNSIGNED", []string{"0", "2147483647", "2147483648", "4294967295"}},
	{"bigint_unsigned", "BIGINT UNSIGNED", []string{"0", "9007199254740993", "9223372036854775807", "9223372036854775808", "18446744073709551615"}},
	{"tinyint", "TINYINT", []string{"-128", "-1", "0", "127"}},
	{"mediumint", "MEDIUMINT", []string{"-8388608", "-1", "8388607"}},
	{"bigint", "BIGINT", []string{"-9223372036854775808", "-1", "0", "9007199254740993", "9223372036854775807"}},
	{"binary4", "BINARY(4)", []string{"X'00000000'", "X'61000000'", "X'00610000'", "X'6100FF00'", "X'61626364'", "X'FF'"}},
	{"varbinary", "VARBINARY(8)", []string{"X''", "X'00'", "X'0000'", "X'61'", "X'6100'", "X'FF00FF'"}},
	{"latin1", "VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci", []string{"'café'", "'CAFF'", "'Ågren'", "'zz'", "'a'", "'ä'"}},
	{"utf8mb4_bin", "CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", []string{"'a'", "'A'", "'😀'", "'😁x'", "'é'"}},
	{"decimal", "DECIMAL(10,2)", []string{"-12.50", "0", "0.01", "12.5", "99999999.99"}},
	{"datetime6", "DATETIME(6)", []string{"'1000-01-01 00:00:00'", "'2024-02-29 23:59:59.123456'", "'2024-02-29 23:59:59.1'"}},
	{"timestamp", "TIMESTAMP(3)", []string{"'1970-01-01 00:00:01'", "'2024-03-31 01:30:00.5'", "'2038-01-19 03:14:07'"}},
	{"date", "DATE", []string{"'1000-01-01'", "'2024-02-29'", "'9999-12-31'"}},
	{"time", "TIME(1)", []string{"'-838:59:59'", "'-00:00:01.5'", "'00:00:00'", "'12:00:00.5'", "'838:59:59'"}},
	{"year", "YEAR", []string{"1901", "2024", "2155"}},
}

// TestApplyKeyTypesFromBinlog: for each key type, copy the table, then
// update, delete and insert rows by key; the changes reach the shadow only
// if the key values decoded from the binlog find the rows again.
func TestApplyKeyTypesFromBinlog(t *testing.T) {
	sb := sandboxtest.New(t)
	for _, tc := range keyTypeCases {
		t.Run(tc.name, func(t *testing.T) { testKeyType(t, sb, tc) })
	}
}

func testKeyType(t *testing.T, sb *sandboxtest.Sandbox, tc keyTypeCase) {
	src, shadow := "k_"+tc.name, "_k_"+tc.name+"_new"
	sb.Exec(t, fmt.Sprintf("CREATE TABLE %s (k %s NOT NULL PRIMARY KEY, v INT NOT NULL, other BIGINT UNSIGNED)", src, tc.typ))
	sb.Exec(t, fmt.Sprintf("CREATE TABLE %s LIKE %s", shadow, src))
	for i, v := range tc.values {
		sb.Exec(t, fmt.Sprintf("INSERT INTO %s VALUES (%s, %d, 18446744073709551615)", src, v, i))
	}
	db := openGodwit(t, sb)
	p := planFor(t, sb, src, shadow, "PRIMARY")
	changes := NewChanges()
	stream := startStream(t, sb, db, p, changes)
	c := &Copier{DB: db, Plan: p, Changes: changes, MinChunk: 1, MaxChunk: 2}
	c.defaults()
	c.progress.ChunkSize = 2 // chunk boundaries on these values too
	if err := c.Run(t.Context()); err != nil {
		t.Fatalf("copy: %v", err)
	}
	sameRows(t, db, p)

	// Now every change comes through the binlog only. The session time
	// zone is UTC, like godwit's and the stream's.
	for _, v := range tc.values {
		sb.Exec(t, fmt.Sprintf("UPDATE %s SET v = v + 100 WHERE k = %s", src, v))
	}
	sb.Exec(t, fmt.Sprintf("DELETE FROM %s WHERE k = %s", src, tc.values[0]))
	sb.Exec(t, fmt.Sprintf("UPDATE %s SET k = %s, v = -1 WHERE k = %s", src, tc.values[0], tc.values[len(tc.values)-1]))
	catchUp(t, db, stream, c)
	if n := changes.Seen(); n < int64(len(tc.values)+3) {
		t.Errorf("the stream saw %d row changes, want at least %d", n, len(tc.values)+3)
	}
	sameRows(t, db, p)
}

// TestStreamStopsOnTableDDL: DDL on other tables passes, an ALTER TABLE on
// the source stops the stream with ErrTableDDL.
func TestStreamStopsOnTableDDL(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(10))")
	sb.Exec(t, "CREATE TABLE `_t_new` LIKE t")
	db := openGodwit(t, sb)
	p := planFor(t, sb, "t", "_t_new", "PRIMARY")
	changes := NewChanges()
	stream := startStream(t, sb, db, p, changes)

	sb.Exec(t, "INSERT INTO t VALUES (1, 'x'), (2, 'y')")
	sb.Exec(t, "ALTER TABLE `_t_new` ADD COLUMN z INT")
	sb.Exec(t, "CREATE TABLE other (id INT PRIMARY KEY)")
	sb.Exec(t, "ALTER TABLE other ADD COLUMN t INT")
	sb.Exec(t, "DROP TABLE other")
	wait := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		pos, err := MasterPosition(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		return stream.WaitFor(ctx, pos)
	}
	if err := wait(); err != nil {
		t.Fatalf("DDL on other tables stopped the stream: %v", err)
	}
	if got := changes.Len(); got != 2 {
		t.Errorf("%d keys pending after inserting 2 rows", got)
	}

	sb.Exec(t, "ALTER TABLE t ADD COLUMN b INT")
	err := wait()
	if !errors.Is(err, ErrTableDDL) {
		t.Fatalf("WaitFor after ALTER TABLE t: %v, want ErrTableDDL", err)
	}
	if !strings.Contains(err.Error(), "ADD COLUMN b") {
		t.Errorf("the error does not quote the statement: %v", err)
	}
	if !errors.Is(stream.Err(), ErrTableDDL) {
		t.Errorf("Err() = %v, want ErrTableDDL", stream.Err())
	}
}

// TestStreamStopsOnQualifiedDDL: a DDL sent from another default database,
// naming the table with its schema, is caught as well.
func TestStreamStopsOnQualifiedDDL(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY)")
	db := openGodwit(t, sb)
	p := planFor(t, sb, "t", "t", "PRIMARY")
	stream := startStream(t, sb, db, p, NewChanges())

	conn, err := sb.DB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "USE mysql"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), fmt.Sprintf("TRUNCATE TABLE %s", mysqlx.QT(sb.Database, "t"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	pos, err := MasterPosition(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.WaitFor(ctx, pos); !errors.Is(err, ErrTableDDL) {
		t.Fatalf("WaitFor after TRUNCATE from another database: %v, want ErrTableDDL", err)
	}
}

// TestApplySeesCommittedRows: MariaDB sends a transaction's binlog events
// before its InnoDB commit is visible to other sessions. A Flush that runs
// in that window re-reads the old row, and the key is no longer pending:
// the shadow keeps the old version for good. Sixteen writers update
// every row once while Flush runs in a loop; then everything is caught up.
// The race is timing-dependent: the test tries a few rounds.
func TestApplySeesCommittedRows(t *testing.T) {
	sb := sandboxtest.New(t)
	const rows, writers = 16000, 16
	for round := range 3 {
		src, shadow := fmt.Sprintf("r%d", round), fmt.Sprintf("_r%d_new", round)
		sb.Exec(t, fmt.Sprintf("CREATE TABLE %s (id INT NOT NULL PRIMARY KEY, v BIGINT NOT NULL)", src))
		sb.Exec(t, fmt.Sprintf("CREATE TABLE %s LIKE %s", shadow, src))
		sb.Exec(t, fmt.Sprintf("INSERT INTO %s SELECT seq, 0 FROM seq_1_to_%d", src, rows))
		db := openGodwit(t, sb)
		p := planFor(t, sb, src, shadow, "PRIMARY")
		changes := NewChanges()
		stream := startStream(t, sb, db, p, changes)
		c := &Copier{DB: db, Plan: p, Changes: changes}
		if err := c.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := w + 1; id <= rows; id += writers {
					if _, err := sb.DB.Exec(fmt.Sprintf("UPDATE %s SET v = v + 1 WHERE id = ?", src), id); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		stop, flushed := make(chan struct{}), make(chan error)
		go func() {
			for {
				select {
				case <-stop:
					flushed <- nil
					return
				default:
				}
				if changes.Len() > 0 {
					if _, err := c.Flush(context.Background()); err != nil {
						<-stop
						flushed <- err
						return
					}
				}
			}
		}()
		wg.Wait()
		close(stop)
		if err := <-flushed; err != nil {
			t.Fatal(err)
		}
		catchUp(t, db, stream, c)
		var stale int
		var ids sql.NullString
		q := fmt.Sprintf("SELECT COUNT(*), GROUP_CONCAT(s.id) FROM %s s JOIN %s d USING (id) WHERE s.v <> d.v", src, shadow)
		if err := db.QueryRow(q).Scan(&stale, &ids); err != nil {
			t.Fatal(err)
		}
		if stale > 0 {
			t.Fatalf("round %d: after catch-up, %d shadow rows keep their old value (ids %s)", round+1, stale, ids.String)
		}
	}
}
