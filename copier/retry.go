package copier

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// retryAttempts is how many times one of godwit's transactions (a chunk
// copied, a batch of changes applied, a chunk repaired) runs before a lock
// conflict fails the run; the kept copy lets a rerun go on from there.
const retryAttempts = 6

// retryBackoff is the wait before the first retry; it doubles each time,
// up to retryBackoffMax, and is jittered so two parts that deadlocked do
// not meet again at once.
const retryBackoff, retryBackoffMax = 25 * time.Millisecond, time.Second

// retry runs tx until it succeeds, fails otherwise than as a victim, or
// has run attempts times. godwit's sessions wait for row locks only a few
// seconds (see mysqlx), so that where godwit and the application want the
// same rows, godwit gives up first; what it gave up it does again, after a
// pause that lets the application's transactions through.
func (p *Plan) retry(ctx context.Context, what string, attempts int, tx func() (int64, error)) (int64, error) {
	for attempt := 1; ; attempt++ {
		n, err := tx()
		if err == nil || attempt >= attempts || !victim(err) {
			return n, err
		}
		wait := min(retryBackoffMax, retryBackoff<<(attempt-1))
		wait = wait/2 + rand.N(wait/2+1)
		p.log().Info("retrying after a lock conflict", "what", what, "attempt", attempt, "of", attempts,
			"code", mysqlx.ErrCode(err), "wait", wait.String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return n, err
		case <-t.C:
		}
	}
}

// victim says the server rolled the transaction back to break a deadlock
// or after a lock wait timeout: it may run again.
func victim(err error) bool {
	code := mysqlx.ErrCode(err)
	return code == mysqlx.ErrDeadlock || code == mysqlx.ErrLockWaitTimeout
}

func (p *Plan) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}
