package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// The sandbox is shared with other packages' tests running at the same
// time: these tests change no global variable, keep the replica stopped
// for seconds only and always restart it, and are bounded in time.

func openDB(t *testing.T, sb *sandboxtest.Sandbox, port int, database string) *sql.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	db, err := mysqlx.Open(ctx, mysqlx.Config{Host: sb.Host, Port: port, User: sb.User, Password: sb.Password, Database: database})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestReplicaSQLThreadStopped(t *testing.T) {
	sb := sandboxtest.New(t)
	primary := openDB(t, sb, sb.Port, sb.Database)
	// No database: the test's one may not have replicated yet.
	replica := openDB(t, sb, sb.ReplicaPort, "")
	addr := fmt.Sprintf("%s:%d", sb.Host, sb.ReplicaPort)

	hb := NewHeartbeat(primary, sb.Database, "t")
	lag := NewReplicaLag(addr, replica, hb)
	// A generous max: other packages' tests load the same replica.
	r := start(t, Config{Limits: []Limit{{Probe: lag, Max: 10}}, Heartbeat: hb, Interval: 100 * time.Millisecond})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("Wait with replication running: %v (state %+v)", err, r.State())
	}
	eventually(t, 10*time.Second, "lag read from the heartbeat", func() bool { return lag.from() == "heartbeat" })

	control := openDB(t, sb, sb.ReplicaPort, "")
	t.Cleanup(func() { restartSQLThread(t, control) })
	if _, err := control.Exec(mysqlx.Tag + "STOP REPLICA SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	eventually(t, 3*time.Second, "throttled after STOP REPLICA SQL_THREAD", func() bool { return r.State().Throttled })
	st := r.State()
	if !strings.Contains(st.Reason, "replica "+addr) || !strings.Contains(st.Reason, "SQL thread not running") {
		t.Errorf("reason %q does not name the replica and its stopped SQL thread", st.Reason)
	}
	t.Logf("throttled %v after the stop: %s", time.Since(stopped).Round(time.Millisecond), st.Reason)

	ch := waitAsync(r.Throttler, 15*time.Second)
	blocked(t, ch, 1200*time.Millisecond, "while the replica's SQL thread is stopped")

	// The heartbeat measures the real lag, which grows while stopped.
	if hbLag := heartbeatLag(t, hb, replica); hbLag < 1.0 {
		t.Errorf("heartbeat lag %.2fs after %v stopped, want >= 1s", hbLag, time.Since(stopped).Round(time.Millisecond))
	} else {
		t.Logf("heartbeat lag %.2fs after %v stopped", hbLag, time.Since(stopped).Round(time.Millisecond))
	}

	if _, err := control.Exec(mysqlx.Tag + "START REPLICA SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if err := <-ch; err != nil {
		t.Fatalf("Wait after START REPLICA SQL_THREAD: %v (state %+v)", err, r.State())
	}
	st = r.State()
	t.Logf("released %v after the start; paused %v in all", time.Since(started).Round(time.Millisecond), st.ThrottledFor.Round(time.Millisecond))
	if st.Throttled || st.ThrottledFor < time.Second {
		t.Errorf("state after release: %+v", st)
	}

	r.stop()
	if err := r.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	q := "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?"
	if err := primary.QueryRow(q, sb.Database, HeartbeatTable).Scan(&n); err != nil || n != 0 {
		t.Errorf("heartbeat table left after Cleanup (%d, %v)", n, err)
	}
}

// heartbeatLag is the lag the heartbeat shows, whatever the threads do.
func heartbeatLag(t *testing.T, hb *Heartbeat, replica *sql.DB) float64 {
	t.Helper()
	now, first, ok, err := hb.primaryNow()
	if err != nil || !ok {
		t.Fatalf("heartbeat: ok=%v err=%v", ok, err)
	}
	ts, seen, err := hb.replicated(context.Background(), replica)
	if err != nil || !seen || ts < first {
		t.Fatalf("replicated heartbeat: %d seen=%v err=%v (first %d)", ts, seen, err, first)
	}
	return float64(now-ts) / 1e6
}

// restartSQLThread starts the replica's SQL thread (a no-op when it runs)
// and waits until it runs: other tests share this replica.
func restartSQLThread(t *testing.T, db *sql.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, mysqlx.Tag+"START REPLICA SQL_THREAD"); err != nil {
		t.Errorf("restart the replica's SQL thread: %v (run START REPLICA SQL_THREAD on the replica by hand)", err)
		return
	}
	for ctx.Err() == nil {
		// MariaDB names the field Slave_SQL_Running even in SHOW REPLICA STATUS.
		rows, err := mysqlx.QueryMaps(ctx, db, "SHOW REPLICA STATUS")
		if err == nil && len(rows) == 1 && (rows[0]["Slave_SQL_Running"].String == "Yes" || rows[0]["Replica_SQL_Running"].String == "Yes") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("the replica's SQL thread does not run again after START REPLICA SQL_THREAD")
}

func TestThreadsRunning(t *testing.T) {
	sb := sandboxtest.New(t)
	primary := openDB(t, sb, sb.Port, sb.Database)
	probe := NewThreadsRunning(primary)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := 0.0
	for range 5 {
		v, err := probe.Measure(ctx)
		if err != nil {
			t.Fatal(err)
		}
		base = math.Max(base, v)
		time.Sleep(20 * time.Millisecond)
	}
	limit := base + 8
	t.Logf("baseline Threads_running %g; max %g", base, limit)
	r := start(t, Config{Limits: []Limit{{Probe: probe, Max: limit}}, Interval: 100 * time.Millisecond})
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("Wait at the baseline: %v", err)
	}

	// Other packages' tests share the server and move Threads_running by
	// ten or more: 12 sleepers let a quieter moment release the throttle
	// early. 40 keep it over the limit whatever the others do, unless
	// they ran 32 threads when the baseline was read.
	const sleepers = 40
	load := openDB(t, sb, sb.Port, sb.Database)
	load.SetMaxOpenConns(sleepers)
	var wg sync.WaitGroup
	errs := make(chan error, sleepers)
	began := time.Now()
	for range sleepers {
		wg.Go(func() {
			if _, err := load.ExecContext(ctx, mysqlx.Tag+"SELECT SLEEP(3)"); err != nil {
				errs <- err
			}
		})
	}
	t.Cleanup(wg.Wait)
	eventually(t, 2500*time.Millisecond, "throttled by the sleeping queries", func() bool { return r.State().Throttled })
	st := r.State()
	if !strings.HasPrefix(st.Reason, "Threads_running ") {
		t.Errorf("reason %q", st.Reason)
	}
	t.Logf("throttled %v after the sleepers began: %s", time.Since(began).Round(time.Millisecond), st.Reason)
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v (state %+v)", err, r.State())
	}
	released := time.Since(began)
	t.Logf("released %v after the sleepers began", released.Round(time.Millisecond))
	if released < 2500*time.Millisecond {
		t.Errorf("released after %v, before the 3 s sleeps ended", released)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("sleeper: %v", err)
	}
}

func TestCriticalQuery(t *testing.T) {
	sb := sandboxtest.New(t)
	primary := openDB(t, sb, sb.Port, sb.Database)
	r := start(t, Config{Limits: []Limit{{Probe: NewQuery(primary, "SELECT 5"), Critical: 3}}, Interval: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.Wait(ctx)
	if !errors.Is(err, ErrCritical) {
		t.Fatalf("Wait = %v, want ErrCritical", err)
	}
	if want := "throttle query returned 5 > 3 (critical)"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	<-r.done
	if !errors.Is(r.err, ErrCritical) {
		t.Errorf("Run = %v, want ErrCritical", r.err)
	}
}

func TestQueryProbe(t *testing.T) {
	sb := sandboxtest.New(t)
	primary := openDB(t, sb, sb.Port, sb.Database)
	sb.Exec(t, "CREATE TABLE flags (name VARCHAR(10) PRIMARY KEY, v DECIMAL(5,2))")
	sb.Exec(t, "INSERT INTO flags VALUES ('on', 1.5), ('null', NULL)")
	ctx := context.Background()
	for q, want := range map[string]float64{
		"SELECT 0":                                 0,
		"SELECT v FROM flags WHERE name = 'on';":   1.5,
		"SELECT v FROM flags WHERE name = 'null'":  0,
		"SELECT v FROM flags WHERE name = 'none'":  0,
		"SELECT COUNT(*) FROM flags WHERE v > 1.0": 1,
	} {
		got, err := NewQuery(primary, q).Measure(ctx)
		if err != nil || got != want {
			t.Errorf("%s: %g, %v; want %g", q, got, err, want)
		}
	}
	for q, want := range map[string]string{
		"SELECT 1, 2":          "2 columns",
		"SELECT 'x'":           "not a number",
		"SELECT * FROM nosuch": "doesn't exist",
	} {
		if _, err := NewQuery(primary, q).Measure(ctx); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", q, err, want)
		}
	}
}

func TestHistoryLength(t *testing.T) {
	sb := sandboxtest.New(t)
	primary := openDB(t, sb, sb.Port, sb.Database)
	ctx := context.Background()
	p := NewHistoryLength(primary)
	v, err := p.Measure(ctx)
	if err != nil || v < 0 {
		t.Fatalf("history length %g, %v", v, err)
	}
	w, err := p.fromEngineStatus(ctx)
	if err != nil || w < 0 {
		t.Fatalf("history length from SHOW ENGINE INNODB STATUS %g, %v", w, err)
	}
	t.Logf("history list length: INNODB_METRICS %g, engine status %g", v, w)
}

func TestLockWaits(t *testing.T) {
	sb := sandboxtest.New(t)
	primary := openDB(t, sb, sb.Port, sb.Database)
	sb.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	sb.Exec(t, "INSERT INTO t VALUES (1, 0)")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	p := NewLockWaits(primary)
	// MariaDB refreshes the cache behind INNODB_LOCK_WAITS only when
	// nobody read it for 100 ms: readings closer together see the same
	// snapshot. So every reading here waits 150 ms.
	time.Sleep(150 * time.Millisecond)
	before, err := p.Measure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := lockWaitsMariaDB
	if sb.IsMySQL() {
		want = lockWaitsMySQL
	}
	if p.query != want {
		t.Errorf("counts lock waits with %q, want performance_schema.data_lock_waits on MySQL, information_schema.INNODB_LOCK_WAITS on MariaDB", p.query)
	}

	holder, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	defer holder.ExecContext(context.Background(), "ROLLBACK")
	if _, err := holder.ExecContext(ctx, "UPDATE t SET v = 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	waiter, err := sb.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	if _, err := waiter.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 10"); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := waiter.ExecContext(ctx, "UPDATE t SET v = 2 WHERE id = 1")
		waited <- err
	}()
	began := time.Now()
	var last []string
	defer func() {
		if t.Failed() {
			t.Logf("readings: %v", last)
		}
	}()
	for {
		time.Sleep(150 * time.Millisecond)
		v, err := p.Measure(ctx)
		last = append(last, fmt.Sprint(time.Since(began).Round(time.Millisecond), " ", v, " ", err))
		if err == nil && v >= before+1 {
			break
		}
		if time.Since(began) > 5*time.Second {
			t.Fatal("no lock wait counted within 5s")
		}
	}
	t.Logf("counted %v after the waiting update began", time.Since(began).Round(time.Millisecond))
	if _, err := holder.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Errorf("the waiting update: %v", err)
	}
}

// Standard with a replica and every probe on: every probe measures, and a
// throttle query that fails is reported by Check.
func TestStandardCheck(t *testing.T) {
	sb := sandboxtest.New(t)
	primary := openDB(t, sb, sb.Port, sb.Database)
	replica := openDB(t, sb, sb.ReplicaPort, "")
	replicas := []Replica{{Addr: fmt.Sprintf("%s:%d", sb.Host, sb.ReplicaPort), DB: replica}}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	cfg := Standard(primary, sb.Database, "t", replicas, Settings{Query: "SELECT 0", FlagFile: t.TempDir() + "/flag"})
	if len(cfg.Limits) != 6 || cfg.Heartbeat == nil {
		t.Fatalf("Standard: %d limits, heartbeat %v", len(cfg.Limits), cfg.Heartbeat != nil)
	}
	cfg.Log = testLog(t)
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := th.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}

	cfg = Standard(primary, sb.Database, "t", nil, Settings{MaxHistoryLength: -1, MaxLockWaits: -1, Query: "SELECT nosuch"})
	if len(cfg.Limits) != 2 || cfg.Heartbeat != nil {
		t.Fatalf("Standard without replicas, two probes off: %d limits", len(cfg.Limits))
	}
	th, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := th.Check(ctx); err == nil || !strings.Contains(err.Error(), "throttle probe throttle query: ") {
		t.Errorf("Check with a bad query = %v", err)
	}
}
