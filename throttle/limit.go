package throttle

// limitState is what the throttler remembers about one limit between
// readings.
type limitState struct {
	over      bool   // holding the copy until the value falls to the resume level
	reason    string // why, while over
	errText   string // the last reading's error, "" when it measured
	criticals int    // consecutive readings over Critical
}

// judge is the decision for one limit, given its previous state and a new
// reading:
//
//   - an error holds the copy (fail safe) and never counts toward critical;
//   - a value over Max holds the copy;
//   - once holding, the copy is held until the value is at or below
//     resume*Max (hysteresis, so the copy does not flap around Max);
//   - criticalAfter consecutive values over Critical (if set) return the
//     reason to abort.
func judge(l Limit, prev limitState, value float64, err error, resume float64, criticalAfter int) (next limitState, critical string) {
	if err != nil {
		return limitState{
			over:    true,
			reason:  l.Probe.Name() + ": " + err.Error(),
			errText: err.Error(),
		}, ""
	}
	level := resume * l.Max
	switch {
	case value > l.Max:
		next.over = true
		next.reason = describe(l.Probe, value, l.Max)
	case prev.over && value > level:
		next.over = true
		next.reason = describe(l.Probe, value, level) + ", the resume level"
	}
	if l.Critical > 0 && value > l.Critical {
		next.criticals = prev.criticals + 1
		if next.criticals >= criticalAfter {
			critical = describe(l.Probe, value, l.Critical) + " (critical)"
		}
	}
	return next, critical
}
