package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// The write load: writers at a bounded combined rate, each owning the ids
// of one residue class (id % writers), so each keeps its own model of the
// rows it changed and the models never overlap. Id 1 belongs to the lag
// probe (probe.go). Every statement's affected-row count is checked
// against the model as it runs, and the table against the whole model at
// the end.

// statementTimeout bounds one statement; an answer that never comes makes
// the outcome unknown, and the run fails.
const statementTimeout = 60 * time.Second

// errModel marks a statement whose affected-row count the model did not
// predict: the table lost or gained a row behind the writers' back. The
// model is still exact (the statement's effect is known), so the table can
// be compared with it to measure the damage.
var errModel = errors.New("the table lost or gained a row behind the writers' back")

// maxBacklog is how far a writer catches up after falling behind its pace.
const maxBacklog = time.Second

// sample is one statement as the application saw it: when it started
// (since the load began) and how long it took, retries included.
type sample struct{ at, took time.Duration }

const (
	opInsert = iota
	opUpdate
	opDelete
	opMove
)

type writer struct {
	me, n, rows int64
	db          *sql.DB
	every       time.Duration
	base        time.Time
	stop        <-chan struct{}
	touched     map[int64]*row // nil: deleted; ids not here keep initial()
	next        int64          // my next fresh id, beyond the fill
	samples     []sample
	counts      [4]int64
	retries     int64
	err         error
}

type load struct {
	base    time.Time
	rows    int64
	writers []*writer
	stop    chan struct{}
	wg      sync.WaitGroup
}

// startLoad starts n writers at rate statements per second in all.
func startLoad(db *sql.DB, rows, rate, n int) *load {
	l := &load{base: time.Now(), rows: int64(rows), stop: make(chan struct{})}
	for i := range n {
		w := &writer{me: int64(i), n: int64(n), rows: int64(rows), db: db, base: l.base, stop: l.stop,
			every: time.Second * time.Duration(n) / time.Duration(rate), touched: map[int64]*row{}}
		w.next = w.rows + 1
		for w.next%w.n != w.me {
			w.next++
		}
		l.writers = append(l.writers, w)
		l.wg.Go(w.run)
	}
	return l
}

// stopAndWait lets each writer finish its statement and returns the first
// writer error.
func (l *load) stopAndWait() error {
	close(l.stop)
	l.wg.Wait()
	for _, w := range l.writers {
		if w.err != nil {
			return fmt.Errorf("writer %d: %w", w.me, w.err)
		}
	}
	return nil
}

func (w *writer) run() {
	r := rand.New(rand.NewPCG(uint64(w.me), 42))
	// Paced by a schedule, not by the statements' speed: a writer that fell
	// behind (a stall) catches up, as an application's queued requests
	// would, but by at most maxBacklog.
	next := time.Now()
	for {
		next = next.Add(w.every)
		if late := time.Since(next); late > maxBacklog {
			next = time.Now().Add(-maxBacklog)
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-w.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if err := w.step(r); err != nil {
			w.err = err
			return
		}
	}
}

// pick returns an id of the filled range in my residue class, never 1.
func (w *writer) pick(r *rand.Rand) int64 {
	id := 1 + r.Int64N(w.rows)
	id += (w.me - id%w.n + w.n) % w.n
	for id > w.rows {
		id -= w.n
	}
	for id <= 1 {
		id += w.n
	}
	return id
}

func (w *writer) get(id int64) *row {
	if r, ok := w.touched[id]; ok {
		return r
	}
	if id >= 1 && id <= w.rows {
		r := initial(id)
		return &r
	}
	return nil
}

func (w *writer) step(r *rand.Rand) error {
	id := w.pick(r)
	cur := w.get(id)
	nr := row{k: r.Int64N(1_000_000), c: fmt.Sprintf("w%d-%d", w.me, r.Uint64()), pad: fmt.Sprintf("p%d", r.Uint32())}
	want := int64(0)
	if cur != nil {
		want = 1
	}
	var (
		op   int
		q    string
		args []any
	)
	switch kind := r.IntN(10); {
	case kind < 3:
		op, want = opInsert, 1
		q, args = "INSERT INTO sbtest (id, k, c, pad) VALUES (?, ?, ?, ?)", []any{w.next, nr.k, nr.c, nr.pad}
	case kind < 8:
		op = opUpdate
		q, args = "UPDATE sbtest SET k = ?, c = ?, pad = ? WHERE id = ?", []any{nr.k, nr.c, nr.pad, id}
	case kind < 9:
		op = opDelete
		q, args = "DELETE FROM sbtest WHERE id = ?", []any{id}
	default:
		op = opMove
		q, args = "UPDATE sbtest SET id = ? WHERE id = ?", []any{w.next, id}
	}
	start := time.Now()
	n, retries, err := execRetry(w.db, tag+q, args...)
	w.retries += retries
	if err != nil {
		return fmt.Errorf("%s %v: %w", q, args, err)
	}
	w.samples = append(w.samples, sample{at: start.Sub(w.base), took: time.Since(start)})
	w.counts[op]++
	if n != want {
		return fmt.Errorf("%w: %s %v affected %d rows, the model expects %d", errModel, q, args, n, want)
	}
	switch {
	case op == opInsert:
		w.touched[w.next] = &nr
		w.next += w.n
	case cur == nil: // changed nothing
	case op == opUpdate:
		w.touched[id] = &nr
	case op == opDelete:
		w.touched[id] = nil
	case op == opMove:
		w.touched[w.next] = cur
		w.touched[id] = nil
		w.next += w.n
	}
	return nil
}

// execRetry runs one autocommit statement, retrying what the server
// refused as a whole (deadlock, lock wait timeout, a table definition
// changed by the swap), as an application would. Any other error fails.
func execRetry(db *sql.DB, q string, args ...any) (affected, retries int64, err error) {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
		res, err := db.ExecContext(ctx, q, args...)
		cancel()
		if err == nil {
			n, err := res.RowsAffected()
			return n, retries, err
		}
		if !retryable(err) || attempt >= 20 {
			return 0, retries, err
		}
		retries++
		time.Sleep(min(time.Second, 10*time.Millisecond<<attempt))
	}
}

func retryable(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1205, 1213, 1412, 1615: // lock wait timeout, deadlock, table definition changed, needs re-prepare
		return true
	}
	return false
}

// loadStats is what the writers did, with latency over windows of the run.
type loadStats struct {
	TargetRate   int     `json:"target_writes_per_s"`
	AchievedRate float64 `json:"achieved_writes_per_s"` // during the migration
	Writers      int     `json:"writers"`
	Inserts      int64   `json:"inserts"`
	Updates      int64   `json:"updates"`
	Deletes      int64   `json:"deletes"`
	KeyUpdates   int64   `json:"key_updates"`
	Retries      int64   `json:"retries"`

	Baseline  latency `json:"latency_baseline"`  // before godwit started
	Migration latency `json:"latency_migration"` // while godwit ran
	Cutover   latency `json:"latency_cutover"`   // in flight within ±1 s of the swap

	// The slowest statement while godwit ran: when it began (since godwit
	// started) and in which of godwit's phases.
	WorstAt    dur    `json:"worst_at_ms"`
	WorstPhase string `json:"worst_phase"`
}

type latency struct {
	N   int `json:"n"`
	P50 dur `json:"p50_ms"`
	P99 dur `json:"p99_ms"`
	Max dur `json:"max_ms"`
}

func (l latency) String() string {
	if l.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s", l.P50, l.P99, l.Max)
}

func latencyOf(s []sample, keep func(sample) bool) latency {
	var d []time.Duration
	for _, x := range s {
		if keep(x) {
			d = append(d, x.took)
		}
	}
	if len(d) == 0 {
		return latency{}
	}
	slices.Sort(d)
	q := func(p float64) dur { return dur(d[min(len(d)-1, int(p*float64(len(d))))]) }
	return latency{N: len(d), P50: q(0.50), P99: q(0.99), Max: dur(d[len(d)-1])}
}

// cutoverWindow is the half-width of the window around the swap.
const cutoverWindow = time.Second

// stats summarises the load: godwit ran from start to end (wall clock);
// swapAt is zero when unknown; phases are when godwit's phases began.
func (l *load) stats(rate int, start, end, swapAt time.Time, phases map[string]time.Time) loadStats {
	var all []sample
	st := loadStats{TargetRate: rate, Writers: len(l.writers)}
	for _, w := range l.writers {
		all = append(all, w.samples...)
		st.Inserts += w.counts[opInsert]
		st.Updates += w.counts[opUpdate]
		st.Deletes += w.counts[opDelete]
		st.KeyUpdates += w.counts[opMove]
		st.Retries += w.retries
	}
	s, e := start.Sub(l.base), end.Sub(l.base)
	st.Baseline = latencyOf(all, func(x sample) bool { return x.at < s })
	st.Migration = latencyOf(all, func(x sample) bool { return x.at >= s && x.at <= e })
	if e > s {
		st.AchievedRate = math.Round(float64(st.Migration.N) / (e - s).Seconds())
	}
	var worst sample
	for _, x := range all {
		if x.at >= s && x.at <= e && x.took > worst.took {
			worst = x
		}
	}
	if worst.took > 0 {
		st.WorstAt = dur(worst.at - s)
		began := l.base.Add(worst.at)
		var latest time.Time
		for p, t := range phases {
			if !t.After(began) && t.After(latest) {
				st.WorstPhase, latest = p, t
			}
		}
	}
	if !swapAt.IsZero() {
		sw := swapAt.Sub(l.base)
		st.Cutover = latencyOf(all, func(x sample) bool { return x.at <= sw+cutoverWindow && x.at+x.took >= sw-cutoverWindow })
	}
	return st
}

// model is the rows the table should hold: the fill, changed by what the
// writers and the probe committed.
func (l *load) model(id int64, p *probe) *row {
	if id == 1 {
		r := initial(1)
		if p != nil && p.last != "" {
			r.c = p.last
		}
		return &r
	}
	w := l.writers[id%int64(len(l.writers))]
	return w.get(id)
}

// touched lists every id whose row differs from the fill, or may.
func (l *load) touched() []int64 {
	ids := []int64{1}
	for _, w := range l.writers {
		for id := range w.touched {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// expected is the sum the table must have: the fill's sum with the
// touched rows' initial versions taken out and their final ones put in.
func (l *load) expected(fill sum, p *probe) sum {
	s := fill
	for _, id := range l.touched() {
		if id >= 1 && id <= l.rows {
			s.XOR ^= initial(id).crc(id)
			s.Rows--
		}
		if r := l.model(id, p); r != nil {
			s.XOR ^= r.crc(id)
			s.Rows++
		}
	}
	return s
}

// verify compares every touched row with the model, then the whole
// table's sum with the expected one; it returns what it checked. A
// difference is counted over all touched rows, so the error says how much
// was lost, with examples.
func (l *load) verify(ctx context.Context, db *sql.DB, fill sum, p *probe) (string, error) {
	ids := l.touched()
	var (
		extra, missing, differ int
		examples               []string
	)
	example := func(format string, args ...any) {
		if len(examples) < 3 {
			examples = append(examples, fmt.Sprintf(format, args...))
		}
	}
	for lo := 0; lo < len(ids); lo += 1000 {
		batch := ids[lo:min(lo+1000, len(ids))]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		q := tag + "SELECT id, k, c, pad FROM " + mysqlx.Q(table) + " WHERE id IN (?" + strings.Repeat(", ?", len(batch)-1) + ")"
		rs, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		got := map[int64]row{}
		for rs.Next() {
			var id int64
			var r row
			if err := rs.Scan(&id, &r.k, &r.c, &r.pad); err != nil {
				rs.Close()
				return "", fmt.Errorf("verify: %w", err)
			}
			got[id] = r
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		for _, id := range batch {
			want := l.model(id, p)
			have, present := got[id]
			switch {
			case want == nil && present:
				extra++
				example("row %d exists, but the writers deleted or moved it", id)
			case want != nil && !present:
				missing++
				example("row %d is missing; the writers last wrote %+v", id, *want)
			case want != nil && *want != have:
				differ++
				example("row %d is %+v, the writers last wrote %+v", id, have, *want)
			}
		}
	}
	if extra+missing+differ > 0 {
		return "", fmt.Errorf("verify: of %d rows the writers touched, %d exist that they deleted or moved away, %d are missing, %d hold other values; e.g. %s",
			len(ids), extra, missing, differ, strings.Join(examples, "; "))
	}
	want := l.expected(fill, p)
	got, err := checksum(ctx, db, table)
	if err != nil {
		return "", err
	}
	if got != want {
		return "", fmt.Errorf("verify: the table has %s, the model says %s", got, want)
	}
	return fmt.Sprintf("%d touched rows equal the model; table sum equals the model's (%s)", len(ids), got), nil
}
