package migrate

import (
	"context"
	"fmt"
	"os"
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

// postponeReason says why the cut-over must wait, or "" when it may go.
func (m *migration) postponeReason(ctx context.Context) (string, error) {
	// The control row (control.go): a pause holds the cut-over too, so
	// that a paused migration changes nothing the application sees until
	// godwit resume; godwit cutover releases every postponement below. A
	// row that cannot be read holds the swap rather than guess.
	c, err := readControl(ctx, m.db, m.opt.Conn.Database, m.opt.Table)
	switch {
	case err != nil:
		return fmt.Sprintf("cut-over held: cannot read the control row: %v", err), nil
	case c.Paused:
		return "cut-over held: " + pausedReason(c), nil
	case c.Cutover:
		return "", nil
	}
	if f := m.opt.PostponeCutoverFile; f != "" {
		if _, err := os.Stat(f); err == nil {
			return fmt.Sprintf("cut-over postponed while %s exists", f), nil
		}
	}
	if w := m.opt.CutoverWindow; w != nil {
		now, err := m.windowClock(ctx, w.Zone)
		if err != nil {
			return "", err
		}
		if !w.Contains(now) {
			return fmt.Sprintf("cut-over waits for its window %s (now %s)", w, now.Format("15:04")), nil
		}
	}
	if m.opt.PostponeCutover {
		return fmt.Sprintf("cut-over postponed until godwit cutover %s", tableFlags(m.opt.Conn.Database, m.opt.Table)), nil
	}
	return "", nil
}

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
// postponed: changes go on being applied, so that the swap, once allowed,
// has little left to do.
func (m *migration) waitForCutover(ctx context.Context) error {
	defer m.status.setPostponed("") // the swap goes, or the run ends
	for {
		reason, err := m.postponeReason(ctx)
		if err != nil || reason == "" {
			return err
		}
		m.status.setPostponed(reason)
		start := time.Now()
		m.emit(Event{Message: reason})
		if err := m.catchUp(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		m.summary.Postponed += time.Since(start)
	}
}
