package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// redoCapacity is the server's redo log size in bytes: MySQL 8.0.30 and
// later size it with innodb_redo_log_capacity, MariaDB 10.5 and later keep
// one file of innodb_log_file_size, older servers innodb_log_files_in_group
// files of it.
func redoCapacity(ctx context.Context, db *sql.DB) (int64, error) {
	num := func(name string) (int64, bool, error) {
		v, ok, err := variable(ctx, db, name)
		if err != nil || !ok {
			return 0, ok, err
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("@@%s = %q: %w", name, v, err)
		}
		return n, true, nil
	}
	if n, ok, err := num("innodb_redo_log_capacity"); err != nil || ok {
		return n, err
	}
	size, ok, err := num("innodb_log_file_size")
	if err != nil || !ok {
		return 0, err
	}
	files, ok, err := num("innodb_log_files_in_group")
	if err != nil {
		return 0, err
	}
	if ok {
		size *= files
	}
	return size, nil
}

// redoShare is how much of the redo log the indexes built after the copy
// may take before the plan warns. Building them writes the new index pages
// at the end of the build: on the benchmark's 4M-row table (index on k,
// about 100 MiB) with a 96 MiB log, InnoDB's checkpoint age went from 11%
// to 100% of its maximum in two seconds, and the server held every writer
// for 0.5-1 s; at 1M rows (a quarter of that) nothing stalled.
const redoShare = 0.5

// redoRisk says whether building indexes of indexBytes in one go fills
// more than redoShare of a redo log of capacity bytes.
func redoRisk(indexBytes, capacity int64) bool {
	return capacity > 0 && float64(indexBytes) > redoShare*float64(capacity)
}

// redoStall is what a build that outgrows half the redo log does.
const redoStall = "when the build writes them out, InnoDB's checkpoint age reaches its limit and the server holds every writer, the application's too, for up to a second or more"

// indexBuild weighs the index build after the copy (--defer-indexes)
// against the redo log: the source's secondary indexes estimate what the
// build writes.
func (p *Plan) indexBuild(ctx context.Context, m *migration) error {
	if !m.opt.DeferIndexes || p.Path != PathCopy || !strings.EqualFold(m.shadow.Engine, "InnoDB") {
		return nil
	}
	var deferred []string
	for _, ix := range m.shadow.Indexes {
		if !ix.Unique && !strings.EqualFold(ix.Name, "PRIMARY") {
			deferred = append(deferred, ix.Name)
		}
	}
	if len(deferred) == 0 {
		return nil
	}
	capacity, err := redoCapacity(ctx, m.db)
	if err != nil {
		return err
	}
	if capacity == 0 {
		p.NotChecked = append(p.NotChecked, "the index build against the redo log: the server reports no redo log size")
		return nil
	}
	est := m.source.IndexLength
	if p.Size != nil { // the statistics checked against godwit's own measure
		est = p.Size.IndexBytes
	}
	what := fmt.Sprintf("the indexes built after the copy (%s; about %s, the source's secondary indexes now)", strings.Join(deferred, ", "), FormatBytes(est))
	if !redoRisk(est, capacity) {
		p.add(PlanCheck{Check: "index-build", Status: CheckOK, Message: fmt.Sprintf("%s fit well within the %s redo log", what, FormatBytes(capacity))})
		return nil
	}
	p.add(PlanCheck{Check: "index-build", Status: CheckWarning,
		Message: fmt.Sprintf("%s are more than half the %s redo log: %s", what, FormatBytes(capacity), redoStall),
		Fix:     "Raise the redo log first (MariaDB 10.9+: SET GLOBAL innodb_log_file_size = 2147483648; MySQL 8.0.30+: SET GLOBAL innodb_redo_log_capacity = 2147483648), or pass --defer-indexes=false: no burst at the end, but a much slower copy on a table larger than the buffer pool."})
	return nil
}

// warnRedo says, as the index build starts, what the plan's index-build
// check says: a build this large against this redo log will stall the
// server's writers at its end. The run goes on; the warning explains the
// stall to whoever watches it.
func (m *migration) warnRedo(ctx context.Context) {
	if m.source == nil {
		return
	}
	capacity, err := redoCapacity(ctx, m.db)
	if err != nil || !redoRisk(m.source.IndexLength, capacity) {
		return
	}
	msg := fmt.Sprintf("the indexes to build (about %s) are more than half the %s redo log: %s; a larger redo log avoids it",
		FormatBytes(m.source.IndexLength), FormatBytes(capacity), redoStall)
	m.log.Warn(msg)
	m.emit(Event{Phase: PhaseIndexes, Message: msg})
}
