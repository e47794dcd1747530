package main

import (
	"log/slog"
	"time"

	"github.com/spf13/pflag"
)

// observeFlags are the flags that let machines watch a migration:
// Prometheus metrics and hook commands.
type observeFlags struct {
	metricsAddr string
	hooks       []string
	hookTimeout time.Duration
}

func (o *observeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on http://`host:port`/metrics while the migration runs, e.g. 127.0.0.1:9187 (default: off)")
	fs.StringArrayVar(&o.hooks, "hook", nil, "run `CMD` with sh -c on each phase change, on success and on failure, with the event as JSON on stdin (repeatable)")
	fs.DurationVar(&o.hookTimeout, "hook-timeout", 30*time.Second, "kill a --hook command still running after this long")
}

// start checks the hooks and binds the metrics address; an error is a
// usage error, returned before anything else is done.
func (o *observeFlags) start(database, table string, log *slog.Logger) (*metrics, *hooks, error) {
	h, err := startHooks(o.hooks, o.hookTimeout, database, table, log)
	if err != nil {
		return nil, nil, err
	}
	m, err := startMetrics(o.metricsAddr, database, table, log)
	if err != nil {
		h.close()
		h.wait()
		return nil, nil, err
	}
	return m, h, nil
}
