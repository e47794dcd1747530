package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/godwit-db/godwit/copier"
)

// A copy of a large table takes hours, and its worst moments are at the
// end: a cut-over that a long transaction keeps failing, a checksum that
// keeps differing, a Ctrl-C, a lost server or lock. None of these says the
// copy is worthless. So once the checkpoint table exists, a run that stops
// without swapping keeps the shadow and the checkpoint, and says how to go
// on: rerun the same command (it resumes, see resume.go) or godwit abort.
// Only two failures drop what the run made: a refusal (a run that refuses
// leaves nothing behind) and DDL on the table during the run, after which
// the copy matches a structure the table no longer has.

// ErrKept is wrapped by Run's error when the run stopped before the swap
// and kept its copy and checkpoint for a rerun.
var ErrKept = errors.New("the copy and its checkpoint are kept")

// errLockLost is the cause of a run's cancellation when its named lock
// lapsed (lock.go): another run could then take the shadow over.
var errLockLost = errors.New("lost the migration's named lock")

// keep decides, for a run that failed with err, whether it keeps its
// tables; it returns the error to report then, or nil when the tables must
// be dropped.
func (m *migration) keep(ctx context.Context, err error) error {
	if !slices.Contains(m.created, checkpointName(m.opt.Table)) || IsRefusal(err) || errors.Is(err, copier.ErrTableDDL) || m.instantWait {
		// An instant change's wait has no copy to keep.
		return nil
	}
	lost := serverLost(err) && ctx.Err() == nil
	if !lost {
		// What was copied since the last periodic save is not thrown away.
		m.finalCheckpoint(ctx)
	}
	abort := "godwit abort " + tableFlags(m.opt.Conn.Database, m.opt.Table)
	const tail = "; the original table is intact and serving; %w: rerun the same command to resume, or run `%s` to remove them"
	switch {
	case lost:
		return fmt.Errorf("%w during %s: %w"+tail, ErrServerLost, m.phase, err, ErrKept, abort)
	case errors.Is(context.Cause(ctx), errLockLost):
		return fmt.Errorf("%w (its connection ended) during %s, so the run stopped at once: %w"+tail, errLockLost, m.phase, err, ErrKept, abort)
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted during %s: %w"+tail, m.phase, err, ErrKept, abort)
	}
	return fmt.Errorf("failed during %s: %w"+tail, m.phase, err, ErrKept, abort)
}

// finalCheckpoint saves the copier's resumable point once more, past the
// run's own cancellation. Failing costs only the work since the last save.
func (m *migration) finalCheckpoint(ctx context.Context) {
	if m.copier == nil {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	m.checkpointSaved = time.Time{}
	if err := m.saveCheckpoint(sctx); err != nil {
		m.log.Warn("save the last checkpoint; the rerun resumes from the one before", "err", err)
	}
}
