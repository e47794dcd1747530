package migrate

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestKillAtDeadlineReleasesTheLock holds a table write-locked by a
// connection busy in a long statement past its deadline: the guard must
// kill it on the server, so that a writer waiting on the table goes on at
// once rather than when the statement ends. Stopped in time, it kills
// nothing.
func TestKillAtDeadlineReleasesTheLock(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	ctx := context.Background()
	db, err := mysqlx.Open(ctx, mysqlx.Config{Host: sb.Host, Port: sb.Port, User: sb.User, Password: sb.Password, Database: sb.Database})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := &migration{db: db, log: slog.Default()}

	lockAndGuard := func(budget time.Duration, sleep string) (context.CancelFunc, func() bool, chan error) {
		a, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		id, err := connectionID(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.ExecContext(ctx, "LOCK TABLES t WRITE"); err != nil {
			t.Fatal(err)
		}
		actx, cancel := context.WithTimeout(ctx, budget)
		stop := m.killAtDeadline(actx, id)
		busy := make(chan error, 1)
		go func() {
			// Not actx: the statement must outlive its context on the
			// server for the test to mean anything.
			_, err := a.ExecContext(ctx, "SELECT SLEEP("+sleep+")")
			busy <- err
		}()
		return cancel, stop, busy
	}

	cancel, stop, _ := lockAndGuard(300*time.Millisecond, "20")
	defer cancel()
	start := time.Now()
	if _, err := sb.DB.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("the writer behind the lock: %v", err)
	}
	waited := time.Since(start)
	if !stop() {
		t.Error("stop says the connection was not killed")
	}
	t.Logf("the writer waited %v behind a 300ms budget", waited.Round(time.Millisecond))
	if waited > 3*time.Second {
		t.Errorf("the writer waited %v: the lock outlived its budget", waited)
	}

	cancel, stop, busy := lockAndGuard(time.Minute, "2")
	time.Sleep(200 * time.Millisecond)
	if stop() {
		t.Error("stopped before the deadline, yet killed")
	}
	cancel()
	select {
	case err := <-busy:
		t.Fatalf("the statement ended although nothing killed it: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
}
