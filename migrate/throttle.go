package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godwit-db/godwit/throttle"
)

// startThrottle checks every probe once more, the pause probe included
// (the preflight measured the others before anything existed), and starts
// the throttler. While it holds the copy back, changes keep being applied
// so the shadow never falls behind (see copyWait).
func (m *migration) startThrottle(ctx context.Context) error {
	replicas, err := m.openReplicas(ctx)
	if err != nil {
		return err
	}
	cfg := throttle.Standard(m.db, m.opt.Conn.Database, m.opt.Table, replicas, m.opt.Throttle)
	// godwit pause holds the copy as a probe (control_probe.go); the
	// checkpoint table it reads exists by now.
	cfg.Limits = append(cfg.Limits, throttle.Limit{Probe: newPauseProbe(m.db, m.opt.Conn.Database, m.opt.Table), Pause: true})
	cfg.Log = m.log
	// OnChange runs on the throttler's goroutine: it only records the
	// state, which every progress event then carries.
	cfg.OnChange = func(s throttle.State) {
		m.throttleMu.Lock()
		m.throttleState = s
		m.throttleMu.Unlock()
	}
	th, err := throttle.New(cfg)
	if err != nil {
		return refuse("throttle", "Fix the throttle settings.", "%v", err)
	}
	if err := th.Check(ctx); err != nil {
		return refuse("throttle", throttleFix, "%v", err)
	}
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- th.Run(tctx) }()
	m.throttler = th
	m.stopThrottle = func() {
		cancel()
		<-done
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if err := th.Cleanup(cctx); err != nil {
			m.log.Warn("remove the throttle heartbeat row", "err", err)
		}
		m.closeReplicas()
		st := th.State()
		m.summary.Throttled = st.ThrottledFor
		m.summary.Paused += st.PausedFor
	}
	return nil
}

// currentThrottle is the throttler's last decision, safe from any goroutine.
func (m *migration) currentThrottle() throttle.State {
	m.throttleMu.Lock()
	defer m.throttleMu.Unlock()
	return m.throttleState
}

// copyWait runs before every chunk: it stops on a binlog failure, and
// while the throttler holds the copy it keeps applying changes.
func (m *migration) copyWait(ctx context.Context) error {
	return m.throttleWait(ctx, func(ctx context.Context) error {
		if _, err := m.copier.Flush(ctx); err != nil {
			return err
		}
		return m.stream.Err()
	})
}

// throttleWait blocks while the throttle says so, running meanwhile every
// second (the copy applies changes then; other readers only watch the
// stream, since one goroutine alone may flush).
func (m *migration) throttleWait(ctx context.Context, meanwhile func(context.Context) error) error {
	if err := m.stream.Err(); err != nil {
		return err
	}
	if m.throttler == nil {
		return nil
	}
	err := m.throttler.WaitWhile(ctx, time.Second, meanwhile)
	if errors.Is(err, throttle.ErrCritical) {
		return fmt.Errorf("stopped by a critical threshold, the original table is intact: %w", err)
	}
	return err
}
