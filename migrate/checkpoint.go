package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// A checkpoint lets a rerun of the same command pick up a copy that was
// killed: it lives in the database next to the shadow (_<table>_ckpt),
// not on the tool's host, and says how far the copy got and where the
// binlog stream can restart. Picking up is safe because applying a change
// re-reads the row from the source: replaying the binlog from an earlier
// position only repeats work.

// checkpointEvery is how often the copy saves its checkpoint.
const checkpointEvery = 5 * time.Second

type checkpoint struct {
	AlterSHA  string     `json:"alter_sha"`
	File      string     `json:"file"` // empty: the copy had not begun
	Pos       uint32     `json:"pos"`
	GTID      string     `json:"gtid,omitempty"` // the GTID set before File:Pos, where the server logs GTIDs
	Watermark []keyValue `json:"watermark"`      // nil: nothing copied yet
	Done      bool       `json:"done"`
	Rows      int64      `json:"rows"`
	// Indexes were left out of the shadow until the copy is done; the
	// shadow may have some of them already.
	Indexes []deferredIndex `json:"indexes,omitempty"`
	// Server is the identity of the server the copy was made on (see
	// Server.Identity): binlog positions mean nothing on another.
	Server string `json:"server,omitempty"`
	// Swapped is set right after the swap: a rerun after a cleanup cut
	// short then finishes it and says the change is done.
	Swapped bool `json:"swapped,omitempty"`
	// SwapFile:SwapPos (and SwapGTID) is where the binlog stood under the
	// cut-over's lock, before the RENAME: godwit revert reads from there
	// (revert_point.go).
	SwapFile string `json:"swap_file,omitempty"`
	SwapPos  uint32 `json:"swap_pos,omitempty"`
	SwapGTID string `json:"swap_gtid,omitempty"`
	// Revert marks the checkpoint of godwit revert, whose shadow is the
	// old table: godwit abort renames it back rather than drop it.
	Revert bool `json:"revert,omitempty"`
}

// keyValue keeps a key value's Go type, which decides how the server
// compares it (see copier.Key).
type keyValue struct {
	T string `json:"t"` // i int64, u uint64, s string, b bytes
	V string `json:"v"`
}

func checkpointName(t string) string { return "_" + t + "_ckpt" }

func alterSHA(clause string) string {
	sum := sha256.Sum256([]byte(clause))
	return hex.EncodeToString(sum[:])
}

func encodeKey(v []any) ([]keyValue, error) {
	if v == nil {
		return nil, nil
	}
	out := make([]keyValue, len(v))
	for i, x := range v {
		switch t := x.(type) {
		case int64:
			out[i] = keyValue{"i", strconv.FormatInt(t, 10)}
		case uint64:
			out[i] = keyValue{"u", strconv.FormatUint(t, 10)}
		case string:
			out[i] = keyValue{"s", t}
		case []byte:
			out[i] = keyValue{"b", base64.StdEncoding.EncodeToString(t)}
		default:
			return nil, fmt.Errorf("checkpoint: key value of type %T", x)
		}
	}
	return out, nil
}

func decodeKey(kv []keyValue) ([]any, error) {
	if kv == nil {
		return nil, nil
	}
	out := make([]any, len(kv))
	for i, x := range kv {
		var err error
		switch x.T {
		case "i":
			out[i], err = strconv.ParseInt(x.V, 10, 64)
		case "u":
			out[i], err = strconv.ParseUint(x.V, 10, 64)
		case "s":
			out[i] = x.V
		case "b":
			out[i], err = base64.StdEncoding.DecodeString(x.V)
		default:
			err = fmt.Errorf("unknown type %q", x.T)
		}
		if err != nil {
			return nil, fmt.Errorf("checkpoint: key value %d: %w", i, err)
		}
	}
	return out, nil
}

func (m *migration) createCheckpointTable(ctx context.Context) error {
	name := checkpointName(m.opt.Table)
	// The comment is a string literal, which DDL takes no placeholder
	// for: the name is escaped as the session's sql_mode reads it, on
	// the session that runs the statement.
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("create checkpoint table %s: %w", name, err)
	}
	defer conn.Close()
	nbe, err := mysqlx.NoBackslashEscapes(ctx, conn)
	if err != nil {
		return fmt.Errorf("create checkpoint table %s: %w", name, err)
	}
	q := fmt.Sprintf("%sCREATE TABLE %s (id TINYINT NOT NULL PRIMARY KEY, state TEXT NOT NULL, updated_at DATETIME(6) NOT NULL) ENGINE=InnoDB COMMENT=%s",
		mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, name), mysqlx.QuoteString(checkpointCommentPrefix+" of "+m.opt.Table, nbe))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create checkpoint table %s: %w", name, err)
	}
	m.created = append(m.created, name)
	return m.writeFirstCheckpoint(ctx)
}

// writeFirstCheckpoint names the ALTER before any binlog position is
// known: a run killed before the copy began resumes from scratch.
func (m *migration) writeFirstCheckpoint(ctx context.Context) error {
	b, _ := json.Marshal(checkpoint{AlterSHA: alterSHA(m.change.Clause), Indexes: m.deferred, Server: m.server.Identity})
	if _, err := m.db.ExecContext(ctx, fmt.Sprintf("%sREPLACE INTO %s VALUES (1, ?, UTC_TIMESTAMP(6))", mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, checkpointName(m.opt.Table))), string(b)); err != nil {
		return fmt.Errorf("write first checkpoint: %w", err)
	}
	return nil
}

// saveCheckpoint records the copier's resumable point, at most every
// checkpointEvery, and at once when the copy is found done. Changes are
// applied every few milliseconds after the copy: an older point only
// replays more of the binlog, which is harmless.
func (m *migration) saveCheckpoint(ctx context.Context) error {
	from, wm, done := m.copier.Resumable()
	if done == m.checkpointDone && time.Since(m.checkpointSaved) < checkpointEvery || from.Name == "" {
		return nil // no position yet: a stream started from a GTID set has not read a file
	}
	key, err := encodeKey(wm)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(checkpoint{AlterSHA: alterSHA(m.change.Clause), File: from.Name, Pos: from.Pos, GTID: from.GTID,
		Watermark: key, Done: done, Rows: m.copier.Progress().RowsCopied, Indexes: m.deferred, Server: m.server.Identity, Revert: m.opt.revert})
	q := fmt.Sprintf("%sREPLACE INTO %s VALUES (1, ?, UTC_TIMESTAMP(6))", mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, checkpointName(m.opt.Table)))
	if _, err := m.db.ExecContext(ctx, q, string(b)); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	m.checkpointSaved, m.checkpointDone = time.Now(), done
	return nil
}

// markSwapped records in the checkpoint that the swap went through. A
// failure is only logged: a rerun then finds the original under the
// sentry's name, or nothing left to do.
func (m *migration) markSwapped(ctx context.Context) {
	q := fmt.Sprintf("%sUPDATE %s SET state = JSON_SET(state, '$.swapped', true), updated_at = UTC_TIMESTAMP(6) WHERE id = 1",
		mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, checkpointName(m.opt.Table)))
	if _, err := m.db.ExecContext(ctx, q); err != nil {
		m.log.Warn("record the swap in the checkpoint", "err", err)
	}
}

// loadCheckpoint reads the checkpoint a killed run left, or nil when there
// is none.
func (m *migration) loadCheckpoint(ctx context.Context) (*checkpoint, error) {
	var state string
	q := fmt.Sprintf("%sSELECT state FROM %s WHERE id = 1", mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, checkpointName(m.opt.Table)))
	err := m.db.QueryRowContext(ctx, q).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) || mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var cp checkpoint
	if err := json.Unmarshal([]byte(state), &cp); err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return &cp, nil
}

// binlogHas says whether the server still keeps a binlog file.
func binlogHas(ctx context.Context, db *sql.DB, file string) (bool, error) {
	rows, err := db.QueryContext(ctx, mysqlx.Tag+"SHOW BINARY LOGS")
	if err != nil {
		return false, fmt.Errorf("list binary logs: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		dest := make([]any, len(cols))
		var name string
		dest[0] = &name
		for i := 1; i < len(dest); i++ {
			dest[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(dest...); err != nil {
			return false, err
		}
		if name == file {
			return true, nil
		}
	}
	return false, rows.Err()
}
