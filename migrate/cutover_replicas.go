package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/godwit-db/godwit/throttle"
)

// The replicas are checked right before each cut-over attempt, not only
// by the copy's throttle: the deferred index build (indexes.go) runs on a
// replica as one ALTER and lags it by its whole duration, and a replica
// whose replication stopped would get the swap (and the writes after it)
// only when someone notices. A swap ahead of the replicas would leave
// them serving the old structure for that long, so the cut-over waits,
// keeping the new table in sync and saying why, until every --replica
// runs both threads and lags less than --max-lag. Cancelling the run (a
// signal) ends the wait like any other.

// replicaCheckEvery is how often a held cut-over looks at the replicas again.
const replicaCheckEvery = time.Second

// replicaProbeTimeout bounds one look at one replica.
const replicaProbeTimeout = 5 * time.Second

// waitReplicasForCutover returns once every replica is fit for the swap,
// or with ctx's error.
func (m *migration) waitReplicasForCutover(ctx context.Context) error {
	probes := m.cutoverReplicaProbes()
	if len(probes) == 0 {
		return nil
	}
	var start, logged time.Time
	last := ""
	for {
		if err := m.throttleCritical(ctx); err != nil {
			return err
		}
		reason := m.replicaHold(ctx, probes)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if reason == "" {
			if !start.IsZero() {
				waited := time.Since(start)
				m.summary.ReplicaWait += waited
				m.status.setPostponed("")
				m.log.Info("the replicas caught up; the cut-over goes", "waited", waited.Round(time.Millisecond).String())
				m.emit(Event{Phase: PhaseCutover, Message: "the replicas caught up after " + waited.Round(100*time.Millisecond).String()})
			}
			return nil
		}
		if start.IsZero() {
			start = time.Now()
		}
		// Logged when the kind of reason changes, and every 10s while a
		// lag only changes its value: not every second.
		if kind := strings.Map(dropDigits, reason); kind != last || time.Since(logged) >= 10*time.Second {
			m.log.Warn(reason)
			last, logged = kind, time.Now()
		}
		m.status.setPostponed(reason)
		m.emit(Event{Phase: PhaseCutover, Message: reason})
		// The application keeps writing: keep the new table in step, so
		// that the swap, once the replicas allow it, has little to apply.
		if err := m.catchUp(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(replicaCheckEvery):
		}
	}
}

// throttleCritical returns the throttle's error once a probe crossed its
// critical threshold (--critical-lag, ...): a held cut-over ends then as
// the copy would.
func (m *migration) throttleCritical(ctx context.Context) error {
	if m.throttler == nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if err := m.throttler.Wait(wctx); errors.Is(err, throttle.ErrCritical) {
		return fmt.Errorf("stopped by a critical threshold while the cut-over waited for the replicas: %w", err)
	}
	return nil
}

// replicaProbe measures one replica for the cut-over.
type replicaProbe struct {
	addr string
	lag  *throttle.ReplicaLag
}

// cutoverReplicaProbes measures the replicas the throttle watches, with
// its heartbeat (when --max-lag is on) for a lag that does not depend on
// Seconds_Behind_Master.
func (m *migration) cutoverReplicaProbes() []replicaProbe {
	if m.throttler == nil || len(m.replicaDBs) != len(m.opt.Replicas) {
		return nil
	}
	hb := m.throttler.Heartbeat()
	var out []replicaProbe
	for i, db := range m.replicaDBs {
		addr := m.opt.Replicas[i].Addr()
		out = append(out, replicaProbe{addr: addr, lag: throttle.NewReplicaLag(addr, db, hb)})
	}
	return out
}

// cutoverMaxLag is --max-lag, or 0 when the lag is not checked (a
// negative --max-lag): stopped replication holds the swap even then.
func (m *migration) cutoverMaxLag() time.Duration {
	switch d := m.opt.Throttle.MaxLag; {
	case d < 0:
		return 0
	case d == 0:
		return throttle.DefaultMaxLag
	default:
		return d
	}
}

// replicaHold says why the swap must wait for the replicas, "" when it
// need not.
func (m *migration) replicaHold(ctx context.Context, probes []replicaProbe) string {
	maxLag := m.cutoverMaxLag()
	var why []string
	for _, p := range probes {
		pctx, cancel := context.WithTimeout(ctx, replicaProbeTimeout)
		lag, err := p.lag.Measure(pctx)
		cancel()
		if ctx.Err() != nil {
			return ""
		}
		switch {
		case errors.Is(err, throttle.ErrReplicationStopped):
			why = append(why, fmt.Sprintf("replica %s is not replicating: %s; the swap goes once START REPLICA (START SLAVE) has it running and caught up, or rerun without watching this replica",
				p.addr, stoppedDetail(err)))
		case err != nil:
			why = append(why, fmt.Sprintf("replica %s cannot be checked: %v", p.addr, err))
		case maxLag > 0 && lag > maxLag.Seconds():
			why = append(why, fmt.Sprintf("replica %s lags %s (max %s)", p.addr, roundSeconds(lag), maxLag))
		}
	}
	if len(why) == 0 {
		return ""
	}
	return "cut-over waits: " + strings.Join(why, "; ")
}

func dropDigits(r rune) rune {
	if r >= '0' && r <= '9' || r == '.' {
		return -1
	}
	return r
}

// stoppedDetail keeps what the replica says about its threads, without
// the probe's note about the throttle.
func stoppedDetail(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "+throttle.ErrReplicationStopped.Error()); i > 0 {
		s = s[:i]
	}
	return s
}

// roundSeconds prints a lag as a short duration: 12s, 1.6s.
func roundSeconds(v float64) string {
	d := time.Duration(v * float64(time.Second))
	if d >= 10*time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
