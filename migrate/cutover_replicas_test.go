package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/workload"
	"github.com/godwit-db/godwit/migrate"
)

// TestCutoverWaitsForReplicas: the replica's SQL thread is stopped as the
// cut-over begins. The swap must wait and say why (progress event and
// godwit status); then the replica runs again but delayed, and the swap
// must wait for its lag; once it is back in step the swap goes, the table
// equals the writers' model and the replica has the new structure.
func TestCutoverWaitsForReplicas(t *testing.T) {
	sb := sandboxtest.New(t)
	opt := options(sb, "t", "MODIFY i32 BIGINT NULL")
	opt.Replicas = []mysqlx.Config{{Host: sb.Host, Port: sb.ReplicaPort, User: sb.User, Password: sb.Password, Database: sb.Database}}
	cutoverWaitsForReplica(t, sb, opt)
}

// TestDiscoverReplicas: with --discover-replicas and no --replica, the
// replica the primary lists (MariaDB with its address, MySQL without
// report_host with its port only) is found and watched as in
// TestCutoverWaitsForReplicas.
func TestDiscoverReplicas(t *testing.T) {
	sb := sandboxtest.New(t)
	opt := options(sb, "t", "MODIFY i32 BIGINT NULL")
	opt.DiscoverReplicas = true
	// A replica lists itself once its IO thread has connected: another
	// test may just have restarted it.
	var listed []string
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		listed = listedReplicaHosts(t, sb)
		if slices.ContainsFunc(listed, func(h string) bool { return strings.HasSuffix(h, fmt.Sprintf(":%d", sb.ReplicaPort)) }) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the primary does not list the sandbox's replica: %q", listed)
		}
	}
	t.Logf("the primary lists its replicas as %q", listed)
	cutoverWaitsForReplica(t, sb, opt)
}

// TestDiscoverReplicasUnreachable: a reader registered on the primary
// under a host nobody can reach (as a replica whose report_host is wrong)
// refuses --discover-replicas before anything is created, with a message
// naming it and the --replica flag to pass instead.
func TestDiscoverReplicasUnreachable(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	flavor := "mariadb"
	if sb.IsMySQL() {
		flavor = "mysql"
	}
	pos, err := copier.MasterPoint(ctx, sb.DB, flavor)
	if err != nil {
		t.Fatal(err)
	}
	const fakeID = 777_001
	fake := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: fakeID, Flavor: flavor, Host: sb.Host, Port: uint16(sb.Port), User: sb.User, Password: sb.Password,
		Localhost: "unreachable-replica.invalid", Logger: slog.New(slog.DiscardHandler),
	})
	defer fake.Close()
	if _, err := fake.StartSync(pos.Position); err != nil {
		t.Fatal(err)
	}
	listed := listedReplicaHosts(t, sb)
	t.Logf("the primary lists its replicas as %q", listed)
	workloadTable(ctx, t, sb, 100, 5)
	opt := options(sb, "t", "MODIFY i32 BIGINT NULL")
	opt.DiscoverReplicas = true
	_, err = migrate.Run(ctx, opt)
	want := fmt.Sprintf("could not reach replica server id %d (listed as unreachable-replica.invalid:%d", fakeID, sb.Port)
	if !migrate.IsRefusal(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--replica host:port") {
		t.Fatalf("migrate with an unreachable listed replica: %v, want a refusal with %q and --replica", err, want)
	}
	if strings.Contains(err.Error(), "server id 2 ") {
		t.Errorf("the sandbox's real replica is named as unreachable: %v", err)
	}
	if got := tables(t, sb); strings.Join(got, ",") != "t" {
		t.Fatalf("tables after the refusal: %v", got)
	}
	t.Logf("refused: %v", err)
}

// listedReplicaHosts is what the primary lists as its replicas' host:port.
func listedReplicaHosts(t *testing.T, sb *sandboxtest.Sandbox) []string {
	t.Helper()
	q := "SHOW SLAVE HOSTS"
	if sb.IsMySQL() {
		q = "SHOW REPLICAS"
	}
	rows, err := mysqlx.QueryMaps(t.Context(), sb.DB, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r["Host"].String+":"+r["Port"].String)
	}
	return out
}

func cutoverWaitsForReplica(t *testing.T, sb *sandboxtest.Sandbox, opt migrate.Options) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	replica := sb.Replica(t)
	control := openReplicaControl(t, sb)
	model := workloadTable(ctx, t, sb, 5_000, 5)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 100, Seed: 6})

	addr := fmt.Sprintf("%s:%d", sb.Host, sb.ReplicaPort)
	opt.Throttle.MaxLag = 1500 * time.Millisecond
	var mu sync.Mutex
	var msgs []string
	stopped := false
	opt.Report = func(e migrate.Event) {
		if e.Phase != migrate.PhaseCutover {
			return
		}
		if !stopped { // the first cut-over event: before the first attempt
			stopped = true
			replicaSQL(t, control, sb.IsMySQL(), "stop", 0)
		}
		mu.Lock()
		msgs = append(msgs, e.Message)
		mu.Unlock()
	}
	seen := func(want ...string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.ContainsFunc(msgs, func(m string) bool {
				for _, w := range want {
					if !strings.Contains(m, w) {
						return false
					}
				}
				return true
			})
		}
	}
	type result struct {
		sum *migrate.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := migrate.Run(ctx, opt)
		done <- result{sum, err}
	}()
	within := func(d time.Duration, what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(d); !ok(); time.Sleep(100 * time.Millisecond) {
			select {
			case r := <-done:
				t.Fatalf("the run ended while waiting for %s: %v", what, r.err)
			default:
			}
			if time.Now().After(end) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no %s within %s; cut-over messages: %q", what, d, msgs)
			}
		}
	}
	notSwapped := func(when string) {
		t.Helper()
		got := tables(t, sb)
		if !slices.Contains(got, "t_godwit_new") || slices.Contains(got, "_t_old") {
			t.Fatalf("%s: tables %v: swapped ahead of the replica", when, got)
		}
	}

	within(2*time.Minute, "wait for the stopped replica", seen("cut-over waits: replica "+addr+" is not replicating", "SQL thread not running"))
	waitStart := time.Now()
	time.Sleep(3 * time.Second)
	notSwapped("3s after the SQL thread stopped")
	st, err := migrate.ReadStatus(ctx, opt.Conn, "t")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status == nil || !strings.Contains(st.Status.Postponed, "is not replicating") {
		t.Fatalf("godwit status does not say why the cut-over waits: %+v", st.Status)
	}
	t.Logf("godwit status: %s", st.Status.Postponed)

	// Running again, but 4s behind: the swap waits for the lag.
	replicaSQL(t, control, sb.IsMySQL(), "delay", 4)
	within(time.Minute, "wait for the lagging replica", seen("cut-over waits: replica "+addr+" lags ", "(max 1.5s)"))
	time.Sleep(2 * time.Second)
	notSwapped("while the replica lags 4s")
	replicaSQL(t, control, sb.IsMySQL(), "delay", 0)
	released := time.Now()

	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the run did not swap within a minute of the replica catching up")
	}
	if r.err != nil {
		t.Fatalf("migrate: %v", r.err)
	}
	stats, werr := run.Stop()
	if werr != nil {
		t.Fatal(werr)
	}
	mu.Lock()
	var lagMsg string
	for _, m := range msgs {
		if strings.Contains(m, " lags ") {
			lagMsg = m
		}
	}
	mu.Unlock()
	t.Logf("held %s (summary: %s), swapped %s after the replica was back in step; last lag message %q; writers %d statements",
		time.Since(waitStart).Round(100*time.Millisecond), r.sum.ReplicaWait.Round(100*time.Millisecond),
		time.Since(released).Round(100*time.Millisecond), lagMsg, stats.Statements())
	if r.sum.ReplicaWait < 5*time.Second {
		t.Fatalf("summary says the cut-over waited %s for the replica", r.sum.ReplicaWait)
	}
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
		t.Fatal(err)
	}
	sb.WaitReplica(t)
	var typ string
	if err := replica.QueryRowContext(ctx, "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't' AND COLUMN_NAME = 'i32'", sb.Database).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if typ != "bigint" {
		t.Fatalf("the replica's t.i32 is %s, want bigint", typ)
	}
}

func openReplicaControl(t *testing.T, sb *sandboxtest.Sandbox) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", sb.ReplicaDSN(""))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	// The sandbox is shared: replication runs undelayed whatever happens.
	t.Cleanup(func() {
		replicaSQL(t, db, sb.IsMySQL(), "delay", 0)
		db.Close()
	})
	return db
}

// replicaSQL stops the replica's SQL thread ("stop"), or sets its delay
// in seconds and runs it ("delay"); each family in its own words.
func replicaSQL(t *testing.T, db *sql.DB, isMySQL bool, what string, delay int) {
	var qs []string
	switch {
	case what == "stop":
		qs = []string{"STOP REPLICA SQL_THREAD"}
	case isMySQL:
		qs = []string{"STOP REPLICA SQL_THREAD", fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_DELAY = %d", delay), "START REPLICA"}
	default: // MariaDB changes the delay with both threads stopped
		qs = []string{"STOP SLAVE", fmt.Sprintf("CHANGE MASTER TO MASTER_DELAY = %d", delay), "START SLAVE"}
	}
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Errorf("replica: %s: %v", q, err)
		}
	}
}

// TestCutoverReplicaWaitCancel: a cut-over held by a stopped replica still
// ends when the run is cancelled (as on SIGINT): at once, with the
// original table intact and nothing swapped.
func TestCutoverReplicaWaitCancel(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	control := openReplicaControl(t, sb)
	model := workloadTable(ctx, t, sb, 3_000, 7)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 100, Seed: 8})
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	opt := options(sb, "t", "MODIFY i32 BIGINT NULL")
	opt.Replicas = []mysqlx.Config{{Host: sb.Host, Port: sb.ReplicaPort, User: sb.User, Password: sb.Password, Database: sb.Database}}
	waiting := make(chan struct{}, 1)
	stopped := false
	opt.Report = func(e migrate.Event) {
		if e.Phase != migrate.PhaseCutover {
			return
		}
		if !stopped {
			stopped = true
			replicaSQL(t, control, sb.IsMySQL(), "stop", 0)
		}
		if strings.Contains(e.Message, "cut-over waits") {
			select {
			case waiting <- struct{}{}:
			default:
			}
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := migrate.Run(rctx, opt)
		done <- err
	}()
	select {
	case <-waiting:
	case err := <-done:
		t.Fatalf("the run ended before its cut-over waited: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the cut-over never waited for the stopped replica")
	}
	time.Sleep(time.Second)
	stop()
	cancelled := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end within 30s of its cancellation")
	}
	took := time.Since(cancelled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run cancelled while waiting for the replica: %v", err)
	}
	if took > 10*time.Second {
		t.Fatalf("the run took %s to end after its cancellation", took)
	}
	if _, werr := run.Stop(); werr != nil {
		t.Fatal(werr)
	}
	if got := tables(t, sb); slices.Contains(got, "_t_old") {
		t.Fatalf("tables after the cancellation: %v: swapped", got)
	}
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("ended %s after the cancellation: %v; tables %v", took.Round(time.Millisecond), err, tables(t, sb))
}

// TestCutoverReplicaWaitCritical: --critical-lag still ends a run whose
// cut-over waits for a lagging replica, cleanly and without a swap.
func TestCutoverReplicaWaitCritical(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	control := openReplicaControl(t, sb)
	model := workloadTable(ctx, t, sb, 3_000, 9)
	run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 2, Rate: 100, Seed: 10})
	opt := options(sb, "t", "MODIFY i32 BIGINT NULL")
	opt.Replicas = []mysqlx.Config{{Host: sb.Host, Port: sb.ReplicaPort, User: sb.User, Password: sb.Password, Database: sb.Database}}
	opt.Throttle.MaxLag = time.Second
	opt.Throttle.CriticalLag = 4 * time.Second
	var mu sync.Mutex
	var lagged []string
	delayed := false
	opt.Report = func(e migrate.Event) {
		if e.Phase != migrate.PhaseCutover {
			return
		}
		if !delayed {
			delayed = true
			replicaSQL(t, control, sb.IsMySQL(), "delay", 10)
			// A delayed replica looks in step until its lag has grown.
			time.Sleep(2500 * time.Millisecond)
		}
		if strings.Contains(e.Message, " lags ") {
			mu.Lock()
			lagged = append(lagged, e.Message)
			mu.Unlock()
		}
	}
	start := time.Now()
	_, err := migrate.Run(ctx, opt)
	if _, werr := run.Stop(); werr != nil {
		t.Fatal(werr)
	}
	mu.Lock()
	defer mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "critical threshold") || len(lagged) == 0 {
		t.Fatalf("run with a replica past --critical-lag at the cut-over: %v (lag messages %q)", err, lagged)
	}
	if got := tables(t, sb); slices.Contains(got, "_t_old") {
		t.Fatalf("tables after the critical stop: %v: swapped", got)
	}
	if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped after %s, %d lag messages (last %q): %v", time.Since(start).Round(100*time.Millisecond), len(lagged), lagged[len(lagged)-1], err)
}
