package migrate

import (
	"errors"
	"fmt"

	"github.com/godwit-db/godwit/migrate/alter"
)

// Refusal is a reason not to start: bad input, a server setting, a table
// godwit cannot migrate safely. Nothing was created when it is returned.
type Refusal struct {
	Check  string // which check refused, e.g. "binlog", "key", "alter"
	Reason string // what is wrong
	Fix    string // what to do about it
	// Outside: the input is fine; what must change is on the server (a
	// table an earlier run left), so fixing the statement would not help.
	Outside bool
}

func (r *Refusal) Error() string {
	if r.Fix == "" {
		return fmt.Sprintf("refused (%s): %s", r.Check, r.Reason)
	}
	return fmt.Sprintf("refused (%s): %s. %s", r.Check, r.Reason, r.Fix)
}

func refuse(check, fix, format string, args ...any) *Refusal {
	return &Refusal{Check: check, Reason: fmt.Sprintf(format, args...), Fix: fix}
}

// RefusedOutside says whether err is a refusal whose cause is outside
// the statement (Refusal.Outside).
func RefusedOutside(err error) bool {
	var r *Refusal
	return errors.As(err, &r) && r.Outside
}

// IsRefusal says whether err is a refusal (of godwit's checks or of the
// ALTER parser), as opposed to a failure while working.
func IsRefusal(err error) bool {
	var r *Refusal
	var a *alter.RefusedError
	return errors.As(err, &r) || errors.As(err, &a)
}
