package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// A swap records what godwit revert needs in the database, next to the
// tables, not on the host that ran it: one row per table of
// _godwit_revert. The binlog position is the one the cut-over drained to
// while it held the table's lock, just before the RENAME: every write to
// the new table comes after it. A later swap of the table replaces the
// row; godwit abort leaves it alone.

// revertTable holds the revert points of a schema's tables.
const revertTable = "_godwit_revert"

// revertPoint is one swap, seen from the table that now serves.
type revertPoint struct {
	Table  string `json:"table"`
	Old    string `json:"old"` // the table the swap replaced, under its kept name
	File   string `json:"file"`
	Pos    uint32 `json:"pos"`
	GTID   string `json:"gtid,omitempty"`
	Server string `json:"server"`
	// Alter is what the swap did, for messages: the ALTER, or "revert: "
	// and the ALTER a revert undid.
	Alter string `json:"alter"`
	// The column mapping from Old to Table (alter.Change's).
	Renamed            map[string]string `json:"renamed,omitempty"`
	Dropped            []string          `json:"dropped,omitempty"`
	Added              []string          `json:"added,omitempty"`
	Modified           []string          `json:"modified,omitempty"`
	RebuildsPrimaryKey bool              `json:"rebuilds_primary_key,omitempty"`
	// The two tables' columns at the swap: a revert refuses when either
	// has changed since (an instant ALTER, a hand-made change).
	TableShape string    `json:"table_shape"`
	OldShape   string    `json:"old_shape"`
	SwappedAt  time.Time `json:"swapped_at"`
}

// reverse is the change a revert makes: from the table that serves back
// to the structure of Old. What the ALTER added is dropped, what it
// dropped comes back (its values kept in Old), renames are undone.
func (p *revertPoint) reverse() *alter.Change {
	c := &alter.Change{Clause: "revert: " + p.Alter, Renamed: map[string]string{}, Dropped: p.Added, Added: p.Dropped, RebuildsPrimaryKey: p.RebuildsPrimaryKey}
	for from, to := range p.Renamed {
		c.Renamed[to] = from
	}
	for _, m := range p.Modified {
		old := m
		for from, to := range p.Renamed {
			if strings.EqualFold(to, m) {
				old = from
			}
		}
		c.Modified = append(c.Modified, old)
	}
	return c
}

// shape fingerprints a table's columns as the server describes them.
func shape(t *tableinfo.Table) string {
	h := sha256.New()
	for _, c := range t.Columns {
		fmt.Fprintf(h, "%s|%s|%t|%t|%s|%s\n", strings.ToLower(c.Name), c.ColumnType, c.Nullable, c.Generated, c.Charset, c.Collation)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// noteSwapPoint keeps, in the checkpoint, where the binlog stood while the
// cut-over held the lock: the revert point if this attempt swaps. It runs
// on the pool, not on the session that holds the locks, whose LOCK TABLES
// would refuse the checkpoint table.
func (m *migration) noteSwapPoint(ctx context.Context, p copier.Point) error {
	q := fmt.Sprintf("%sUPDATE %s SET state = JSON_SET(state, '$.swap_file', ?, '$.swap_pos', ?, '$.swap_gtid', ?) WHERE id = 1",
		mysqlx.Tag, mysqlx.QT(m.opt.Conn.Database, checkpointName(m.opt.Table)))
	if _, err := m.db.ExecContext(ctx, q, p.Name, p.Pos, p.GTID); err != nil {
		return fmt.Errorf("record the swap's binlog position: %w", err)
	}
	return nil
}

// recordRevertPoint writes the revert point of the swap just made, from
// the position noteSwapPoint kept. Failing costs only the way back, so it
// is a warning. With DropOld there is no way back: an earlier point of
// the table is removed instead.
func (m *migration) recordRevertPoint(ctx context.Context) {
	db, t := m.opt.Conn.Database, m.opt.Table
	if m.opt.DropOld || m.summary.OldTable != oldName(t) {
		if _, err := m.db.ExecContext(ctx, mysqlx.Tag+"DELETE FROM "+mysqlx.QT(db, revertTable)+" WHERE table_name = ?", t); err != nil && mysqlx.ErrCode(err) != mysqlx.ErrNoSuchTable {
			m.warn(fmt.Sprintf("swapped; removing the earlier revert point of %s from %s failed (godwit revert would refuse it as stale): %v", t, revertTable, err))
		}
		return
	}
	p, err := m.revertPointOfSwap(ctx)
	if err == nil {
		err = writeRevertPoint(ctx, m.db, db, p)
	}
	if err != nil {
		m.warn(fmt.Sprintf("swapped; recording the revert point failed, so godwit revert cannot undo this change: %v", err))
		return
	}
	m.log.Info("revert point recorded", "table", t, "binlog", fmt.Sprintf("%s:%d", p.File, p.Pos))
}

func (m *migration) revertPointOfSwap(ctx context.Context) (*revertPoint, error) {
	db, t := m.opt.Conn.Database, m.opt.Table
	cp, err := m.loadCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	if cp == nil || cp.SwapFile == "" {
		return nil, errors.New("the checkpoint holds no swap position")
	}
	p := &revertPoint{Table: t, Old: oldName(t), File: cp.SwapFile, Pos: cp.SwapPos, GTID: cp.SwapGTID, Server: m.server.Identity,
		Alter: m.change.Clause, Renamed: m.change.Renamed, Dropped: m.change.Dropped, Added: m.change.Added, Modified: m.change.Modified,
		RebuildsPrimaryKey: m.change.RebuildsPrimaryKey, SwappedAt: time.Now().UTC()}
	if p.GTID == "" && m.server.Flavor == "mariadb" {
		var g sql.NullString
		if err := m.db.QueryRowContext(ctx, mysqlx.Tag+"SELECT BINLOG_GTID_POS(?, ?)", p.File, p.Pos).Scan(&g); err == nil {
			p.GTID = g.String
		}
	}
	for name, dst := range map[string]*string{t: &p.TableShape, p.Old: &p.OldShape} {
		ti, err := tableinfo.Load(ctx, m.db, db, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		*dst = shape(ti)
	}
	return p, nil
}

func writeRevertPoint(ctx context.Context, db *sql.DB, schema string, p *revertPoint) error {
	create := fmt.Sprintf("%sCREATE TABLE IF NOT EXISTS %s (table_name VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, "+
		"state TEXT NOT NULL, updated_at DATETIME(6) NOT NULL) ENGINE=InnoDB COMMENT='godwit revert points: where godwit revert starts'", mysqlx.Tag, mysqlx.QT(schema, revertTable))
	if _, err := db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create %s: %w", revertTable, err)
	}
	b, _ := json.Marshal(p)
	q := fmt.Sprintf("%sREPLACE INTO %s VALUES (?, ?, UTC_TIMESTAMP(6))", mysqlx.Tag, mysqlx.QT(schema, revertTable))
	if _, err := db.ExecContext(ctx, q, p.Table, string(b)); err != nil {
		return fmt.Errorf("write the revert point of %s: %w", p.Table, err)
	}
	return nil
}

// loadRevertPoint reads the table's revert point, nil when there is none.
func loadRevertPoint(ctx context.Context, db *sql.DB, schema, table string) (*revertPoint, error) {
	var state string
	q := fmt.Sprintf("%sSELECT state FROM %s WHERE table_name = ?", mysqlx.Tag, mysqlx.QT(schema, revertTable))
	err := db.QueryRowContext(ctx, q, table).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) || mysqlx.ErrCode(err) == mysqlx.ErrNoSuchTable {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the revert point of %s: %w", table, err)
	}
	var p revertPoint
	if err := json.Unmarshal([]byte(state), &p); err != nil || p.File == "" || p.Old == "" {
		return nil, refuse("revert", fmt.Sprintf("Delete that row (DELETE FROM %s WHERE table_name = ...) if nothing is to be reverted.", revertTable),
			"the revert point of %s in %s is unreadable (%v)", table, revertTable, err)
	}
	return &p, nil
}
