package copier

import (
	"context"
	"database/sql"
	"fmt"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// A binlog position names a place in one server's files: after a failover
// the new primary's files differ, and the position means nothing there.
// A GTID set names the transactions read, which every server of the
// topology agrees on. So the stream also tracks the GTID set of what lies
// before its boundary, and a checkpoint made on the old primary can be
// picked up on the new one.

// Point is where a stream can restart: the position on the server it
// reads, and the GTID set of every transaction before it ("" when the
// server logs no GTIDs, or the set at the start was not known).
type Point struct {
	Position
	GTID string
}

// gtidTracker follows the GTID set before the stream's boundary. The
// transaction begun last is added only when the next one begins: a
// restart at the boundary reads it again, as a restart at the boundary's
// position does.
type gtidTracker struct {
	executed gomysql.GTIDSet // the transactions before current
	current  string          // the GTID of the transaction begun last
}

// newGTIDTracker starts from the set before the stream's start; nil (no
// tracking) when it is unknown.
func newGTIDTracker(flavor, start string) (*gtidTracker, error) {
	if start == "" {
		return nil, nil
	}
	set, err := gomysql.ParseGTIDSet(flavor, start)
	if err != nil {
		return nil, fmt.Errorf("parse the GTID set %q: %w", start, err)
	}
	return &gtidTracker{executed: set}, nil
}

// begin records that the transaction gtid begins.
func (g *gtidTracker) begin(gtid string) error {
	if g == nil || gtid == "" {
		return nil
	}
	if g.current != "" {
		if err := g.executed.Update(g.current); err != nil {
			return fmt.Errorf("track GTID %s: %w", g.current, err)
		}
	}
	g.current = gtid
	return nil
}

// before is the GTID set before the transaction begun last.
func (g *gtidTracker) before() string {
	if g == nil {
		return ""
	}
	return g.executed.String()
}

// eventGTID is the GTID of a transaction's first event, or "" for an
// anonymous transaction (a MySQL server with gtid_mode OFF).
func eventGTID(ev replication.Event) (string, error) {
	switch e := ev.(type) {
	case *replication.MariadbGTIDEvent:
		return e.GTID.String(), nil
	case *replication.GTIDEvent:
		return mysqlGTID(e)
	case *replication.GtidTaggedLogEvent:
		return mysqlGTID(&e.GTIDEvent)
	}
	return "", nil
}

func mysqlGTID(e *replication.GTIDEvent) (string, error) {
	if e.GNO == 0 {
		return "", nil // anonymous
	}
	next, err := e.GTIDNext()
	if err != nil {
		return "", fmt.Errorf("decode GTID: %w", err)
	}
	return next.String(), nil
}

// MasterPoint is the primary's current binlog position with the GTID set
// executed before it ("" when the server logs no GTIDs).
func MasterPoint(ctx context.Context, db *sql.DB, flavor string) (Point, error) {
	if flavor == "mariadb" {
		pos, err := MasterPosition(ctx, db)
		if err != nil {
			return Point{}, err
		}
		// The position is an event boundary, where the server can tell
		// the GTID state exactly.
		var gtid sql.NullString
		if err := db.QueryRowContext(ctx, mysqlx.Tag+"SELECT BINLOG_GTID_POS(?, ?)", pos.Name, pos.Pos).Scan(&gtid); err != nil {
			return Point{}, fmt.Errorf("read the GTID position at %s: %w", pos, err)
		}
		return Point{Position: pos, GTID: gtid.String}, nil
	}
	var mode string
	if err := db.QueryRowContext(ctx, mysqlx.Tag+"SELECT @@GLOBAL.gtid_mode").Scan(&mode); err != nil {
		return Point{}, fmt.Errorf("read gtid_mode: %w", err)
	}
	// Executed_Gtid_Set comes in the same row as the position: the two
	// agree, which two queries could not promise.
	p, err := masterStatus(ctx, db)
	if mode != "ON" {
		p.GTID = ""
	}
	return p, err
}
