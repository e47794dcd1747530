package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/throttle"
)

// AbortResult says what Abort did.
type AbortResult struct {
	Dropped []string // godwit's helper tables, removed
	Renamed []string // "from -> to"
	Kept    []string // tables left for the user, with why
}

// Abort removes what a migration of table left behind when it stopped
// without finishing (a kill, a crash, a failed cleanup). It never touches
// the table itself, refuses while a migration of the table still runs
// (its named lock is held), and keeps any table that may hold the
// original rows: t_godwit_old is dropped only when it is the empty
// cut-over sentry; when it is the original (the swap happened, its final
// rename did not), it is renamed to _t_old like a finished migration.
func Abort(ctx context.Context, conn mysqlx.Config, table string, log *slog.Logger) (*AbortResult, error) {
	if log == nil {
		log = slog.Default()
	}
	db, err := mysqlx.Open(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if conn.Database, table, err = foldNames(ctx, db, conn.Database, table); err != nil {
		return nil, err
	}
	if id, err := lockHolder(ctx, db, lockName(conn.Database, table)); err != nil {
		return nil, fmt.Errorf("abort: %w", err)
	} else if id != 0 {
		return nil, refuse("running", "Stop it first (Ctrl-C, or KILL that connection), then run abort again.",
			"a godwit migration of %s.%s is running (connection %d)", conn.Database, table, id)
	}
	comment := func(name string) (string, bool, error) {
		c, ok, err := tableComment(ctx, db, conn.Database, name)
		if err != nil {
			return "", false, fmt.Errorf("abort: %w", err)
		}
		return c, ok, nil
	}
	res := &AbortResult{}
	exec := func(q string) error {
		_, err := db.ExecContext(ctx, mysqlx.Tag+q)
		return err
	}
	renamed, err := abortRevert(ctx, db, conn.Database, table) // a revert's shadow is the old table: renamed back, never dropped
	if err != nil {
		return res, fmt.Errorf("abort: %w", err)
	}
	res.Renamed = append(res.Renamed, renamed...)
	for _, name := range []string{shadowName(table), swapShadowName(table), checkpointName(table)} {
		if _, ok, err := comment(name); err != nil {
			return res, err
		} else if ok {
			if err := exec("DROP TABLE " + mysqlx.QT(conn.Database, name)); err != nil {
				return res, fmt.Errorf("abort: drop %s: %w", name, err)
			}
			res.Dropped = append(res.Dropped, name)
		}
	}
	// Only this table's row: other migrations in the schema may still beat.
	if removed, err := throttle.RemoveHeartbeat(ctx, db, conn.Database, table); err != nil {
		return res, fmt.Errorf("abort: %w", err)
	} else if removed {
		res.Dropped = append(res.Dropped, throttle.HeartbeatTable+" row of "+table)
	}
	sentry := sentryName(table)
	c, ok, err := comment(sentry)
	switch {
	case err != nil:
		return res, err
	case ok && c == sentryComment:
		if err := exec("DROP TABLE " + mysqlx.QT(conn.Database, sentry)); err != nil {
			return res, fmt.Errorf("abort: drop %s: %w", sentry, err)
		}
		res.Dropped = append(res.Dropped, sentry)
	case ok:
		if _, taken, err := comment(oldName(table)); err != nil {
			return res, err
		} else if taken {
			res.Kept = append(res.Kept, sentry+" (the original table of a swapped migration; "+oldName(table)+" exists too, so it was not renamed)")
			break
		}
		if err := exec("RENAME TABLE " + mysqlx.QT(conn.Database, sentry) + " TO " + mysqlx.QT(conn.Database, oldName(table))); err != nil {
			return res, fmt.Errorf("abort: rename %s: %w", sentry, err)
		}
		res.Renamed = append(res.Renamed, sentry+" -> "+oldName(table))
	}
	if _, ok, err := comment(oldName(table)); err != nil {
		return res, err
	} else if ok {
		res.Kept = append(res.Kept, oldName(table)+" (the original of a finished migration: drop it when you no longer need it)")
	}
	log.Info("abort", "dropped", res.Dropped, "renamed", res.Renamed, "kept", res.Kept)
	return res, nil
}

// tableComment reads a table's comment; ok is false when there is no such
// table.
func tableComment(ctx context.Context, db *sql.DB, schema, name string) (comment string, ok bool, err error) {
	err = db.QueryRowContext(ctx, mysqlx.Tag+"SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		schema, name).Scan(&comment)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up table %s: %w", name, err)
	}
	return comment, true, nil
}
