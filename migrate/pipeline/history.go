package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/migrate"
)

// HistoryTable records, in the database the files change, each file
// apply has started: one row per file.
const HistoryTable = "_godwit_migrations"

// Outcomes of a file in the history.
const (
	OutcomeRunning = "running" // started; a run still working, or one that died (the next run resumes it)
	OutcomeApplied = "applied"
	OutcomeFailed  = "failed" // stopped at a statement; the next run resumes there
)

// historyDDL creates the history table. done_statements and
// done_checksum say how far a file got, so that a rerun resumes it at
// its first statement not yet run, and refuses a change to the ones
// that ran. Times are UTC (godwit's sessions run with time_zone
// '+00:00').
const historyDDL = `CREATE TABLE IF NOT EXISTS %s (
  name            VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
  checksum        CHAR(64) NOT NULL COMMENT 'sha256 of the file text, CRLF read as LF',
  started_at      DATETIME(6) NOT NULL,
  finished_at     DATETIME(6) NULL,
  outcome         VARCHAR(16) NOT NULL COMMENT 'running, applied or failed',
  path            VARCHAR(32) NOT NULL DEFAULT '' COMMENT 'paths taken: direct, instant, online-copy',
  statements      INT NOT NULL,
  done_statements INT NOT NULL DEFAULT 0 COMMENT 'statements of the file that ran, in order',
  done_checksum   CHAR(64) NOT NULL DEFAULT '' COMMENT 'sha256 of the text of those statements',
  message         TEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='godwit apply: one row per migration file'`

// historyRow is one file's row.
type historyRow struct {
	Name, Checksum   string
	StartedAt        string // as the server prints DATETIME(6), UTC
	FinishedAt       string // "" while running or failed
	Outcome, Path    string
	Statements, Done int
	DoneChecksum     string
	Message          string
}

// history writes the rows of one database.
type history struct {
	db     *sql.DB
	schema string
}

func (h *history) table() string { return mysqlx.QT(h.schema, HistoryTable) }

// read returns the rows by name; exists is false when the table does not
// exist yet (a first run, or a dry run before it).
func (h *history) read(ctx context.Context) (rows map[string]historyRow, exists bool, err error) {
	var n int
	err = h.db.QueryRowContext(ctx, mysqlx.Tag+`SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		h.schema, HistoryTable).Scan(&n)
	if err != nil || n == 0 {
		return nil, false, err
	}
	rs, err := h.db.QueryContext(ctx, mysqlx.Tag+`SELECT name, checksum, started_at, COALESCE(finished_at, ''), outcome, path,
		statements, done_statements, done_checksum, COALESCE(message, '') FROM `+h.table())
	if err != nil {
		return nil, true, fmt.Errorf("read the history %s: %w", HistoryTable, err)
	}
	defer rs.Close()
	rows = map[string]historyRow{}
	for rs.Next() {
		var r historyRow
		if err := rs.Scan(&r.Name, &r.Checksum, &r.StartedAt, &r.FinishedAt, &r.Outcome, &r.Path,
			&r.Statements, &r.Done, &r.DoneChecksum, &r.Message); err != nil {
			return nil, true, fmt.Errorf("read the history %s: %w", HistoryTable, err)
		}
		rows[r.Name] = r
	}
	return rows, true, rs.Err()
}

// serverTime reads a DATETIME(6) of the history (UTC); nil when empty.
func serverTime(s string) *time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	if err != nil {
		return nil
	}
	return &t
}

// ensure creates the table on a first real run.
func (h *history) ensure(ctx context.Context) error {
	if _, err := h.db.ExecContext(ctx, mysqlx.Tag+fmt.Sprintf(historyDDL, h.table())); err != nil {
		return fmt.Errorf("create the history table %s: %w", HistoryTable, err)
	}
	return nil
}

// exec writes to the history. It outlives an interrupted run long enough
// to record how far the run got.
func (h *history) exec(ctx context.Context, q string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := h.db.ExecContext(ctx, mysqlx.Tag+q, args...)
	return err
}

// start marks a file running. A resumed file keeps how far it got.
func (h *history) start(ctx context.Context, f File, statements, done int, doneChecksum string) error {
	err := h.exec(ctx, `INSERT INTO `+h.table()+`
		(name, checksum, started_at, finished_at, outcome, statements, done_statements, done_checksum, message)
		VALUES (?, ?, NOW(6), NULL, ?, ?, ?, ?, NULL)
		ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), started_at = VALUES(started_at), finished_at = NULL,
		outcome = VALUES(outcome), statements = VALUES(statements), done_statements = VALUES(done_statements),
		done_checksum = VALUES(done_checksum), message = NULL`,
		f.Name, f.Checksum, OutcomeRunning, statements, done, doneChecksum)
	if err != nil {
		return fmt.Errorf("record the start of %s in %s: %w", f.Name, HistoryTable, err)
	}
	return nil
}

// statementDone records that the file's first done statements ran.
func (h *history) statementDone(ctx context.Context, name string, done int, doneChecksum, paths string) error {
	err := h.exec(ctx, `UPDATE `+h.table()+` SET done_statements = ?, done_checksum = ?, path = ? WHERE name = ?`,
		done, doneChecksum, paths, name)
	if err != nil {
		return fmt.Errorf("record statement %d of %s as done in %s (it ran: if the next run repeats it, mark it done by hand: "+
			"UPDATE %s SET done_statements = %d WHERE name = %s): %w", done, name, HistoryTable, HistoryTable, done, mysqlx.QuoteString(name, false), err)
	}
	return nil
}

// finish records the file's outcome.
func (h *history) finish(ctx context.Context, name, outcome, message string) error {
	q := `UPDATE ` + h.table() + ` SET outcome = ?, finished_at = NOW(6), message = NULLIF(?, '') WHERE name = ?`
	if outcome != OutcomeApplied {
		q = `UPDATE ` + h.table() + ` SET outcome = ?, finished_at = NULL, message = NULLIF(?, '') WHERE name = ?`
	}
	if err := h.exec(ctx, q, outcome, message, name); err != nil {
		return fmt.Errorf("record %s as %s in %s: %w", name, outcome, HistoryTable, err)
	}
	return nil
}

// addPath appends a path to a file's comma-separated list of distinct
// paths taken.
func addPath(paths, p string) string {
	if p == "" {
		return paths
	}
	list := strings.Split(paths, ",")
	for _, x := range list {
		if x == p {
			return paths
		}
	}
	if paths == "" {
		return p
	}
	return paths + "," + p
}

// lockName is the advisory lock one real run holds on its database, so
// that two pipelines cannot apply the same files at once. (MySQL limits
// lock names to 64 characters.)
func lockName(schema string) string {
	name := "godwit-apply." + schema
	if len(name) > 64 {
		name = "godwit-apply." + checksum(schema)[:32]
	}
	return name
}

// lock takes the run's lock on a connection of its own, held until
// release is called.
func lock(ctx context.Context, db *sql.DB, schema string) (release func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, mysqlx.Tag+"SELECT GET_LOCK(?, 0)", lockName(schema)).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("take godwit apply's lock: %w", err)
	}
	if got.Int64 != 1 {
		var holder sql.NullInt64
		_ = conn.QueryRowContext(ctx, mysqlx.Tag+"SELECT IS_USED_LOCK(?)", lockName(schema)).Scan(&holder)
		conn.Close()
		return nil, &migrate.Refusal{Check: "lock", Reason: fmt.Sprintf("another godwit apply is running on database %s "+
			"(connection %d holds the lock %q)", schema, holder.Int64, lockName(schema)),
			Fix: "Wait for it to finish; two runs must not apply the same files at once."}
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), mysqlx.Tag+"SELECT RELEASE_LOCK(?)", lockName(schema))
		conn.Close()
	}, nil
}
