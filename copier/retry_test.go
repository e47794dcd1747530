package copier

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestApplyGivesWayToApplication: an application transaction holds a row
// lock for longer than godwit's sessions wait for one. godwit's apply of
// that row gives up first (a lock wait timeout of its own), logs it, backs
// off and applies it once the application committed; the application's
// transaction is never the one that fails.
func TestApplyGivesWayToApplication(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	sb.Exec(t, "CREATE TABLE src (id INT NOT NULL PRIMARY KEY, v VARCHAR(20))")
	sb.Exec(t, "INSERT INTO src VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	sb.Exec(t, "CREATE TABLE _src_new LIKE src")
	sb.Exec(t, "INSERT INTO _src_new SELECT * FROM src")
	db, p := openGodwit(t, sb), planFor(t, sb, "src", "_src_new", "PRIMARY")
	var logs lockedBuffer
	p.Log = slog.New(slog.NewTextHandler(&logs, nil))

	app, err := sb.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Rollback()
	if _, err := app.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 30"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.ExecContext(ctx, "UPDATE src SET v = 'app' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	hold := 4 * time.Second // longer than godwit's 3 s
	var appErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(hold)
		// The application goes on in its transaction, then commits.
		if _, appErr = app.ExecContext(ctx, "UPDATE src SET v = 'app2' WHERE id = 2"); appErr == nil {
			appErr = app.Commit()
		}
	})
	start := time.Now()
	n, err := p.applyTx(ctx, db, [][]any{{int64(1)}, {int64(2)}, {int64(3)}}, nil, nil, nil)
	took := time.Since(start)
	wg.Wait()
	if appErr != nil {
		t.Fatalf("the application's transaction failed: %v", appErr)
	}
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	retries := strings.Count(logs.String(), "retrying after a lock conflict")
	t.Logf("applied %d rows in %v after %d logged retries", n, took.Round(time.Millisecond), retries)
	if n != 3 || retries == 0 || took < 3*time.Second {
		t.Fatalf("applied %d rows in %v with %d retries: want 3 rows, after at least one lock wait timeout of godwit's own\n%s", n, took, retries, logs.String())
	}
	if !strings.Contains(logs.String(), "code="+strconv.Itoa(mysqlx.ErrLockWaitTimeout)) {
		t.Errorf("the retry does not name the lock wait timeout:\n%s", logs.String())
	}
	sameRows(t, db, p)
}

// lockedBuffer is a log sink the apply's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
