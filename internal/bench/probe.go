package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// probe measures the binlog apply lag from outside godwit: it writes a new
// value into row 1 of the table, then polls godwit's shadow table until
// the value shows there. The time between the commit and the first poll
// that sees it is how far the shadow trails the table. It runs during the
// copy and catch-up phases only (the shadow is renamed for the cut-over).
//
// Row 1 is always below the copy's watermark after the first chunk, so its
// changes travel the binlog path: stream, pending set, apply between chunks.
type probe struct {
	db     *sql.DB
	shadow string
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	last       string // the value of c in row 1 after the last committed probe; "" = fill
	lags       []time.Duration
	phases     []string     // godwit's phase when each lag's probe committed
	phase      atomic.Value // godwit's current phase (string), set by setPhase
	unresolved int
	err        error
}

const (
	probePoll  = 10 * time.Millisecond
	probePause = 200 * time.Millisecond
)

func startProbe(db *sql.DB) *probe {
	p := &probe{db: db, shadow: "_" + table + "_new", stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

// setPhase tells the probe godwit's phase, for the report of its lags.
func (p *probe) setPhase(phase string) {
	if p != nil {
		p.phase.Store(phase)
	}
}

// signal asks the probe to stop without waiting; safe to call more than once.
func (p *probe) signal() {
	if p != nil {
		p.once.Do(func() { close(p.stop) })
	}
}

// halt stops the probe and waits for it.
func (p *probe) halt() {
	if p != nil {
		p.signal()
		<-p.done
	}
}

func (p *probe) run() {
	defer close(p.done)
	for seq := 1; ; seq++ {
		if p.stopped() {
			return
		}
		v := fmt.Sprintf("lag-probe-%d", seq)
		n, _, err := execRetry(p.db, tag+"UPDATE "+mysqlx.Q(table)+" SET c = ? WHERE id = 1", v)
		if err != nil {
			p.err = fmt.Errorf("lag probe: %w", err)
			return
		}
		if n != 1 {
			p.err = fmt.Errorf("lag probe: updating row 1 affected %d rows, want 1", n)
			return
		}
		p.last = v
		committed := time.Now()
		phase, _ := p.phase.Load().(string)
		lag, ok := p.await(v, committed)
		if ok {
			p.lags = append(p.lags, lag)
			p.phases = append(p.phases, phase)
		}
		select {
		case <-p.stop:
			return
		case <-time.After(probePause):
		}
	}
}

// await polls the shadow until row 1 holds v; false when the probe was
// stopped first or the shadow does not exist (before setup, after rename).
func (p *probe) await(v string, committed time.Time) (time.Duration, bool) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var got sql.NullString
		err := p.db.QueryRowContext(ctx, tag+"SELECT c FROM "+mysqlx.Q(p.shadow)+" WHERE id = 1").Scan(&got)
		cancel()
		seen := time.Now()
		switch {
		case err == nil && got.String == v:
			return seen.Sub(committed), true
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			// Most likely the shadow is not there (yet or any more).
			return 0, false
		}
		select {
		case <-p.stop:
			p.unresolved++
			return 0, false
		case <-time.After(probePoll):
		}
	}
}

func (p *probe) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// lagStats is the apply lag the probe saw.
type lagStats struct {
	N          int    `json:"n"`
	P50        dur    `json:"p50_ms"`
	Max        dur    `json:"max_ms"`
	MaxPhase   string `json:"max_phase"`  // godwit's phase when the slowest probe committed
	Unresolved int    `json:"unresolved"` // still unseen when the probe stopped
	// PhaseMax is the slowest probe of each phase: a change to one phase's
	// applying shows there while another phase may hold the overall max.
	PhaseMax []phaseLag `json:"phase_max"`
}

type phaseLag struct {
	Phase string `json:"phase"`
	Max   dur    `json:"max_ms"`
}

func (l lagStats) phaseMaxes() string {
	var out []string
	for _, p := range l.PhaseMax {
		out = append(out, p.Phase+" "+p.Max.String())
	}
	return strings.Join(out, ", ")
}

func (p *probe) stats() lagStats {
	if p == nil || len(p.lags) == 0 {
		return lagStats{}
	}
	d := slices.Clone(p.lags)
	slices.Sort(d)
	slowest := p.phases[slices.Index(p.lags, slices.Max(p.lags))]
	var perPhase []phaseLag // in the order the phases came
	for i, l := range p.lags {
		j := slices.IndexFunc(perPhase, func(pl phaseLag) bool { return pl.Phase == p.phases[i] })
		if j < 0 {
			j = len(perPhase)
			perPhase = append(perPhase, phaseLag{Phase: p.phases[i]})
		}
		perPhase[j].Max = max(perPhase[j].Max, dur(l))
	}
	return lagStats{N: len(d), P50: dur(d[len(d)/2]), Max: dur(d[len(d)-1]), MaxPhase: slowest, Unresolved: p.unresolved, PhaseMax: perPhase}
}
