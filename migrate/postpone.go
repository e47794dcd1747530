package migrate

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Window is a daily time range, such as 02:00-04:00, in which the cut-over
// may happen. A range that wraps midnight (23:00-01:00) is allowed.
type Window struct {
	From, To time.Duration  // since midnight
	Zone     *time.Location // nil: the server's time zone
}

// ParseWindow reads "HH:MM-HH:MM".
func ParseWindow(s string) (Window, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, fmt.Errorf("cut-over window %q: want HH:MM-HH:MM", s)
	}
	var w Window
	for i, part := range []string{from, to} {
		t, err := time.Parse("15:04", strings.TrimSpace(part))
		if err != nil {
			return Window{}, fmt.Errorf("cut-over window %q: want HH:MM-HH:MM", s)
		}
		d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		if i == 0 {
			w.From = d
		} else {
			w.To = d
		}
	}
	if w.From == w.To {
		return Window{}, fmt.Errorf("cut-over window %q is empty", s)
	}
	return w, nil
}

// Contains says whether the wall-clock time t falls inside the window.
func (w Window) Contains(t time.Time) bool {
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	if w.From < w.To {
		return since >= w.From && since < w.To
	}
	return since >= w.From || since < w.To
}

func (w Window) String() string {
	f := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return f(w.From) + "-" + f(w.To)
}

// A hold is why the ready cut-over waits; its zero value lets it go.
type hold struct {
	reason string
	paused bool // godwit pause, not a postponement: the summary tells them apart
}

// postponeReason says why the cut-over must wait.
func (m *migration) postponeReason(ctx context.Context) (hold, error) {
	// The control row (control.go): a pause holds the cut-over too, so
	// that a paused migration changes nothing the application sees until
	// godwit resume; godwit cutover releases every postponement below. A
	// row that cannot be read holds the swap rather than guess.
	c, err := readControl(ctx, m.db, m.opt.Conn.Database, m.opt.Table)
	switch {
	case err != nil:
		return hold{reason: fmt.Sprintf("cut-over held: cannot read the control row: %v", err)}, nil
	case c.Paused:
		return hold{reason: "cut-over held: " + pausedReason(c), paused: true}, nil
	case c.Cutover:
		return hold{}, nil
	}
	if f := m.opt.PostponeCutoverFile; f != "" {
		if _, err := os.Stat(f); err == nil {
			return hold{reason: fmt.Sprintf("cut-over postponed while %s exists", f)}, nil
		}
	}
	if w := m.opt.CutoverWindow; w != nil {
		now, err := m.windowClock(ctx, w.Zone)
		if err != nil {
			return hold{}, err
		}
		if !w.Contains(now) {
			return hold{reason: fmt.Sprintf("cut-over postponed until the window opens at %s (window %s, now %s)", w.opens(), w, now.Format("15:04"))}, nil
		}
	}
	if m.opt.PostponeCutover {
		return hold{reason: fmt.Sprintf("cut-over postponed until godwit cutover %s", tableFlags(m.opt.Conn.Database, m.opt.Table))}, nil
	}
	return hold{}, nil
}

// opens is the window's start, "02:00".
func (w Window) opens() string { return w.String()[:5] }

// windowClock is the time in the window's zone, or the server's wall clock
// when the window names none, so that "02:00" means the server's night.
func (m *migration) windowClock(ctx context.Context, zone *time.Location) (time.Time, error) {
	if zone != nil {
		return time.Now().In(zone), nil
	}
	var offset int
	err := m.db.QueryRowContext(ctx, mysqlx.Tag+"SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', @@global.time_zone))").Scan(&offset)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the server's time zone for the cut-over window: %w", err)
	}
	return time.Now().UTC().Add(time.Duration(offset) * time.Second), nil
}

// waitForCutover keeps the migration ready to swap while the cut-over is
// postponed or paused, in its own phase (PhaseReady) so that the wait is
// not counted as verifying. On the copy path changes go on being applied,
// so that the swap, once allowed, has little left to do; on the instant
// path there is nothing to apply. Either way the table is not touched
// before the release.
func (m *migration) waitForCutover(ctx context.Context) error {
	defer m.setPostponed("") // the swap goes, or the run ends
	for waiting := false; ; waiting = true {
		h, err := m.postponeReason(ctx)
		if err != nil {
			return err
		}
		if h.reason == "" {
			if waiting && m.throttler != nil {
				// A pause lifted with the release: the throttle's label must
				// not outlive it into the cut-over's lines.
				if err := m.throttler.Remeasure(ctx); err != nil {
					return err
				}
				// The throttler tells OnChange after it wakes Remeasure:
				// take the fresh state now rather than race that call.
				m.throttleMu.Lock()
				m.throttleState = m.throttler.State()
				m.throttleMu.Unlock()
			}
			return nil
		}
		m.setPostponed(h.reason) // before the phase's own event, which shows it
		if !waiting {
			m.enter(PhaseReady)
		}
		start := time.Now()
		m.emit(Event{Message: h.reason})
		if m.stream != nil {
			if err := m.catchUp(ctx); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		if h.paused {
			if m.throttler == nil { // else its pause probe counts the same hold
				m.summary.Paused += time.Since(start)
			}
		} else {
			m.summary.Postponed += time.Since(start)
		}
	}
}

// setPostponed records why the ready cut-over waits, for the events and
// godwit status ("" once it goes).
func (m *migration) setPostponed(reason string) {
	m.throttleMu.Lock()
	m.postponed = reason
	m.throttleMu.Unlock()
	m.status.setPostponed(reason)
}

// mayPostpone says whether the run was told to hold its cut-over.
func (m *migration) mayPostpone() bool {
	return m.opt.PostponeCutover || m.opt.PostponeCutoverFile != "" || m.opt.CutoverWindow != nil
}

// waitBeforeInstant holds an instant change exactly as the copy's
// cut-over is held: a user who postpones means that the live table does
// not change before the release. The wait needs the control table, so
// that godwit status, pause, resume and cutover work on it.
func (m *migration) waitBeforeInstant(ctx context.Context) error {
	if !m.mayPostpone() && !m.adoptControl {
		return nil // an adopted control table may hold a pause: it waits
	}
	if err := m.controlTable(ctx); err != nil {
		return err
	}
	m.instantWait = true
	m.status.start(ctx, m.db, "")
	return m.waitForCutover(ctx)
}

// dropControlTable removes the wait's control table once the instant
// change is made; a failure leaves only a table godwit abort removes.
func (m *migration) dropControlTable(ctx context.Context) {
	name := checkpointName(m.opt.Table)
	if !slices.Contains(m.created, name) {
		return
	}
	m.status.stop()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := m.db.ExecContext(ctx, mysqlx.Tag+"DROP TABLE IF EXISTS "+mysqlx.QT(m.opt.Conn.Database, name)); err != nil {
		m.warn(fmt.Sprintf("changed; dropping the control table %s failed, drop it by hand (or run godwit abort %s): %v", name, tableFlags(m.opt.Conn.Database, m.opt.Table), err))
	}
	m.created = nil
}
