package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/tableinfo"
)

// The copy inserts rows in key order, but every non-unique secondary index
// of the shadow gets its entries in random order, one B-tree descent and
// often one page split each. Built after the copy, the same index is one
// scan, a sort and pages written in order: on 1M rows with a KEY on a
// random INT the copy took 7.6-8.3 s with the index, and 4.3 s without it
// plus 1.5 s for the build, with 30% less server CPU. So the shadow loses
// those indexes once the ALTER has shaped it (it is empty: dropping them is
// instant) and gets them back in one online ALTER after the copy, while the
// binlog's changes keep being applied. Unique keys stay: the copy must meet
// a duplicate the moment the server would, and the key the copy chunks by
// must be there. The checkpoint names the deferred indexes, so a resumed
// run builds what its predecessor did not.

// deferredIndex is a secondary index left out of the shadow until the copy
// is done.
type deferredIndex struct {
	Name string `json:"name"`
	// Clause is the index's line of SHOW CREATE TABLE without its comma,
	// e.g. "KEY `k` (`a`(10),`b`) COMMENT 'x'": valid after ADD as it is,
	// with whatever options the server printed.
	Clause string `json:"clause"`
}

// Server errors the index build reacts to.
const (
	errDupKeyName              = 1061 // ER_DUP_KEYNAME
	errOnlineLogTooBig         = 1799 // ER_INNODB_ONLINE_LOG_TOO_BIG
	errAlterNotSupported       = 1845 // ER_ALTER_OPERATION_NOT_SUPPORTED
	errAlterNotSupportedReason = 1846 // ER_ALTER_OPERATION_NOT_SUPPORTED_REASON
)

// applyEvery is how often changes are applied once the copy is done,
// while the indexes build and while the checksum compares: the shadow then
// lags by about one apply, not by the interval (at 250 ms the lag reached
// 1 s on a table four times the buffer pool).
const applyEvery = 50 * time.Millisecond

// deferIndexes drops the shadow's deferrable indexes and remembers them.
// It runs on the empty shadow, after the user's ALTER.
func (m *migration) deferIndexes(ctx context.Context) error {
	if !strings.EqualFold(m.shadow.Engine, "InnoDB") {
		return nil // the online build below is InnoDB's
	}
	create, err := showCreate(ctx, m.db, m.opt.Conn.Database, m.shadow.Name)
	if err != nil {
		return err
	}
	generated := map[string]bool{}
	for _, c := range m.shadow.Columns {
		if c.Generated {
			generated[strings.ToLower(c.Name)] = true
		}
	}
	picks := m.keepKeyIndex(deferrableIndexes(create, func(col string) bool { return generated[strings.ToLower(col)] }))
	if len(picks) == 0 {
		return nil
	}
	drops := make([]string, len(picks))
	names := make([]string, len(picks))
	for i, ix := range picks {
		drops[i], names[i] = "DROP INDEX "+mysqlx.Q(ix.Name), ix.Name
	}
	shadow := mysqlx.QT(m.opt.Conn.Database, m.shadow.Name)
	if _, err := m.db.ExecContext(ctx, mysqlx.Tag+"ALTER TABLE "+shadow+" "+strings.Join(drops, ", ")); err != nil {
		return fmt.Errorf("drop the indexes to build after the copy from %s: %w", m.shadow.Name, err)
	}
	if m.shadow, err = tableinfo.Load(ctx, m.db, m.opt.Conn.Database, m.shadow.Name); err != nil {
		return fmt.Errorf("read shadow table: %w", err)
	}
	m.deferred = picks
	m.log.Info("secondary indexes are built after the copy", "table", m.shadow.Name, "indexes", strings.Join(names, ","))
	return nil
}

// keepKeyIndex leaves out of picks the indexes the copy's key needs: when
// the ALTER makes the key non-unique (DROP PRIMARY KEY, ADD KEY (id)),
// every applied change would scan the shadow without it.
func (m *migration) keepKeyIndex(picks []deferredIndex) []deferredIndex {
	key, err := chooseKey(m.source, m.shadow, m.change)
	if err != nil {
		return nil // plan refuses the change; nothing to gain
	}
	deferred := map[string]bool{}
	for _, p := range picks {
		deferred[strings.ToLower(p.Name)] = true
	}
	var rest []tableinfo.Index
	for _, ix := range m.shadow.Indexes {
		if !deferred[strings.ToLower(ix.Name)] {
			rest = append(rest, ix)
		}
	}
	if shadowIndexes(&tableinfo.Table{Indexes: rest}, key) {
		return picks
	}
	var out []deferredIndex
	for _, p := range picks {
		ix, ok := m.shadow.Index(p.Name)
		if ok && shadowIndexes(&tableinfo.Table{Indexes: []tableinfo.Index{*ix}}, key) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// deferrableIndexes picks from a SHOW CREATE TABLE text the indexes that
// can be built after the copy: plain non-unique secondary KEYs over
// columns. UNIQUE, PRIMARY, FULLTEXT and SPATIAL keys print other
// prefixes; an index over an expression (MySQL's functional key parts),
// over a generated column or USING HASH stays, and so does every index of
// a table with foreign keys (an index a foreign key needs cannot be
// dropped).
//
// The server lists unique keys first and FULLTEXT last, the others in the
// order they were added, and a key added later goes after them. So a KEY
// or SPATIAL KEY that stays keeps the deferrable ones before it in place
// too: the migrated table must print what the server's own ALTER makes,
// index order included, or schema diffs would show a change.
func deferrableIndexes(create string, generated func(col string) bool) []deferredIndex {
	if strings.Contains(create, " FOREIGN KEY ") {
		return nil
	}
	var out []deferredIndex
	for line := range strings.SplitSeq(create, "\n") {
		clause := strings.TrimSuffix(strings.TrimRight(line, "\r"), ",")
		if strings.HasPrefix(clause, "  SPATIAL KEY ") {
			out = nil
			continue
		}
		rest, ok := strings.CutPrefix(clause, "  KEY ")
		if !ok {
			continue
		}
		name, cols, tail, ok := parseIndexLine(rest)
		if !ok || strings.Contains(strings.ToUpper(tail), "USING HASH") || slices.ContainsFunc(cols, generated) {
			out = nil
			continue
		}
		out = append(out, deferredIndex{Name: name, Clause: strings.TrimPrefix(clause, "  ")})
	}
	return out
}

// parseIndexLine reads "`name` (`a`(10),`b` DESC) tail": the index's name,
// its columns, and what follows the column list. ok is false for anything
// but quoted column names with an optional prefix length and direction.
func parseIndexLine(s string) (name string, cols []string, tail string, ok bool) {
	name, s, ok = quotedIdent(s)
	if !ok {
		return "", nil, "", false
	}
	s, ok = strings.CutPrefix(s, " (")
	if !ok {
		return "", nil, "", false
	}
	for {
		var col string
		if col, s, ok = quotedIdent(s); !ok {
			return "", nil, "", false // an expression, e.g. ((`a` + 1))
		}
		cols = append(cols, col)
		if rest, ok := strings.CutPrefix(s, "("); ok {
			n := strings.IndexByte(rest, ')')
			if n <= 0 {
				return "", nil, "", false
			}
			if _, err := strconv.Atoi(rest[:n]); err != nil {
				return "", nil, "", false
			}
			s = rest[n+1:]
		}
		for _, dir := range []string{" DESC", " ASC"} {
			s = strings.TrimPrefix(s, dir)
		}
		switch {
		case strings.HasPrefix(s, ","):
			s = s[1:]
		case strings.HasPrefix(s, ")"):
			return name, cols, s[1:], true
		default:
			return "", nil, "", false
		}
	}
}

// quotedIdent reads a backquoted identifier at the start of s.
func quotedIdent(s string) (ident, rest string, ok bool) {
	if !strings.HasPrefix(s, "`") {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '`' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '`' {
			b.WriteByte('`')
			i++
			continue
		}
		return b.String(), s[i+1:], true
	}
	return "", s, false
}

func showCreate(ctx context.Context, db *sql.DB, schema, table string) (string, error) {
	var name, create string
	if err := db.QueryRowContext(ctx, mysqlx.Tag+"SHOW CREATE TABLE "+mysqlx.QT(schema, table)).Scan(&name, &create); err != nil {
		return "", fmt.Errorf("read the definition of %s: %w", table, err)
	}
	return create, nil
}

// buildDeferredIndexes adds the deferred indexes the shadow does not have
// yet, in one ALTER: InnoDB builds them in one scan of the table. A resumed
// run builds those of its checkpoint whatever --defer-indexes says now: the
// shadow was made without them.
func (m *migration) buildDeferredIndexes(ctx context.Context) error {
	if len(m.deferred) == 0 {
		return nil
	}
	m.enter(PhaseIndexes)
	m.warnRedo(ctx)
	db, shadow := m.opt.Conn.Database, shadowName(m.opt.Table)
	online, dups := true, 0
	for {
		t, err := tableinfo.Load(ctx, m.db, db, shadow)
		if err != nil {
			return fmt.Errorf("build deferred indexes on %s: %w", shadow, err)
		}
		var missing []deferredIndex
		for _, ix := range m.deferred {
			if _, ok := t.Index(ix.Name); !ok {
				missing = append(missing, ix)
			}
		}
		if len(missing) == 0 {
			m.shadow = t
			return nil
		}
		start := time.Now()
		err, applyErr := m.addIndexes(ctx, shadow, missing, online)
		switch code := mysqlx.ErrCode(err); {
		case applyErr != nil:
			return applyErr
		case err == nil:
			m.log.Info("built the deferred indexes", "table", shadow, "indexes", len(missing), "took", time.Since(start).Round(time.Millisecond).String(), "online", online)
		case ctx.Err() != nil:
			return fmt.Errorf("build deferred indexes on %s: %w", shadow, ctx.Err())
		case online && (code == errAlterNotSupported || code == errAlterNotSupportedReason || code == errOnlineLogTooBig):
			// Without LOCK=NONE the server may block writes to the shadow
			// while it builds, so nothing is applied meanwhile; catch-up
			// applies it afterwards.
			m.log.Warn("the server cannot build the indexes online while changes are applied; building them with the changes held back", "table", shadow, "err", err)
			online = false
		case code == mysqlx.ErrLockWaitTimeout:
			// Only godwit uses the shadow; a run killed while it built these
			// indexes leaves its ALTER running on the server, which holds
			// the table until it ends: wait for it.
			m.log.Warn("the shadow is locked, maybe by the index build of an interrupted run; trying again", "table", shadow, "err", err)
		case code == errDupKeyName && dups < 3:
			dups++ // that build ended between the check and the ALTER
		default:
			return fmt.Errorf("build deferred indexes on %s: %w", shadow, err)
		}
	}
}

// addIndexes runs the ALTER on a connection of its own. Online, the
// calling goroutine applies the binlog's changes meanwhile (DML on the
// table is allowed during an online ADD INDEX). Cancelling ctx kills the
// statement on the server: closing the socket alone would leave it
// running, holding the shadow that the cleanup then cannot drop. It
// returns the ALTER's error, or the error that stopped applying changes.
func (m *migration) addIndexes(ctx context.Context, shadow string, missing []deferredIndex, online bool) (build, apply error) {
	adds := make([]string, len(missing))
	for i, ix := range missing {
		adds[i] = "ADD " + ix.Clause
	}
	if online {
		adds = append(adds, "ALGORITHM=INPLACE", "LOCK=NONE")
	}
	q := mysqlx.Tag + "ALTER TABLE " + mysqlx.QT(m.opt.Conn.Database, shadow) + " " + strings.Join(adds, ", ")
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return err, nil
	}
	defer conn.Close()
	id, err := connectionID(ctx, conn)
	if err != nil {
		return err, nil
	}
	done := make(chan error, 1)
	go func() {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), q)
		done <- err
	}()
	stop := func() error {
		kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := m.db.ExecContext(kctx, mysqlx.Tag+"KILL QUERY "+strconv.FormatInt(id, 10)); err != nil {
			m.log.Warn("stop the index build", "connection", id, "err", err)
		}
		return <-done
	}
	build, apply = m.applyWhile(ctx, done, stop, online)
	if apply != nil && m.stream.Err() == nil { // the stream's own error says enough
		apply = fmt.Errorf("apply changes while the indexes build: %w", apply)
	}
	return build, apply
}

// applyWhile applies the changes coming in every applyEvery (when apply
// is set) until done delivers the result of work running meanwhile. When
// applying fails, or ctx ends, it calls stop, which must end the work and
// return its result.
func (m *migration) applyWhile(ctx context.Context, done <-chan error, stop func() error, apply bool) (work, applyErr error) {
	tick := time.NewTicker(applyEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err, nil
		case <-ctx.Done():
			return stop(), nil
		case <-tick.C:
			if !apply {
				continue
			}
			err := m.stream.Err() // e.g. a DDL on the table: the run ends
			if err == nil {
				_, err = m.copier.Flush(ctx)
			}
			if err != nil {
				stop()
				return nil, err
			}
		}
	}
}
