package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/migrate"
)

// outputDocPath is the reference of what godwit reports to machines: its
// JSON lines, hook payloads and Prometheus metrics. The field names come
// from the code; the descriptions below must cover every one of them, so a
// field added without a word for its users fails the test.
var outputDocPath = filepath.Join("..", "..", "docs", "output.md")

var progressFields = map[string]string{
	"event":               `"progress"`,
	"time":                "when the event happened (RFC 3339, UTC)",
	"phase":               "the phase: preflight, setup, copy, indexes, catch-up, verify, ready (the cut-over waits for its release), cut-over, cleanup, done",
	"message":             "what happened, for a human (a phase change, a wait and its reason)",
	"rows_copied":         "rows copied into the shadow so far",
	"rows_total_estimate": "the server's estimate of the table's rows",
	"rows_applied":        "rows re-applied from binlog changes so far",
	"pending_changes":     "changed keys read from the binlog and not yet applied",
	"chunk_size":          "rows per copy chunk now (follows `--chunk-time`)",
	"checksum_rows":       "rows the checksum compared so far",
	"checksum_chunks":     "chunks the checksum compared so far",
	"throttled":           "true while the copy is held back by the server's load",
	"throttle_reason":     "why: the probe, its value and its threshold",
	"paused":              "true while `godwit pause` holds the copy, the checksum or the cut-over",
	"pause_reason":        "who paused it: `paused by godwit pause from HOST/PID`",
	"postponed":           "in the ready phase, why the cut-over waits (the postpone file, the window, `godwit cutover`); empty otherwise",
}

var summaryDocs = map[string]string{
	"event":                   `"summary"`,
	"table":                   "the table",
	"error":                   "why the run failed or stopped; absent on success",
	"swapped":                 "true once the new table serves under the table's name (also when a later step failed: see warnings)",
	"path":                    `"instant" (the server changed the metadata only) or "online-copy"`,
	"resumed":                 "true when the run picked up an interrupted run's copy",
	"already_done":            "true when an earlier run had swapped the table and this one finished its cleanup",
	"rows_copied":             "rows copied, counting those an interrupted run copied before",
	"rows_applied":            "rows re-applied from binlog changes",
	"binlog_row_changes":      "row changes of the table read from the binlog",
	"phases":                  "time spent in each phase, as Go durations (\"1.5s\")",
	"total_ms":                "the run's wall time",
	"cutover_stall_ms":        "how long the cut-over held the application's writes back",
	"cutover_attempts":        "cut-over attempts made (the last one swapped)",
	"old_table":               "the original table's name after the swap (`_<table>_old`)",
	"old_dropped":             "true when `--drop-old` dropped it",
	"checksum_rows":           "source rows the checksum compared",
	"checksum_chunks":         "chunks the last checksum pass compared",
	"checksum_rechecked":      "rows compared again before the swap (changed since their chunk was compared)",
	"checksum_repairs":        "chunks recopied or keys re-applied because they differed",
	"warnings":                "what went wrong without undoing the change (e.g. the old table could not be dropped)",
	"throttled_ms":            "time the copy waited for the server's load",
	"paused_ms":               "time `godwit pause` held the run",
	"resumed_from":            "where a resumed run picked up (\"copy at row 12000\", \"copy done\", \"the cut-over\"); empty for a fresh run",
	"postponed_ms":            "time the ready cut-over waited for its release (file, window, `godwit cutover`), pauses apart",
	"replica_wait_ms":         "time the cut-over waited for replicas to catch up or replicate again",
	"cutover_blocker_wait_ms": "time the cut-over waited for transactions holding the table",
}

var hookDocs = map[string]string{
	"event":    `"phase" (a phase began), "success" or "failure"`,
	"phase":    "the phase it happened in",
	"database": "the database",
	"table":    "the table",
	"time":     "when (RFC 3339, UTC)",
	"message":  "what happened, for a human",
	"error":    "on failure, why",
}

// TestOutputDocUpToDate fails when docs/output.md is not what the code
// emits; make docs rewrites it.
func TestOutputDocUpToDate(t *testing.T) {
	want, err := outputDoc()
	if err != nil {
		t.Fatal(err)
	}
	checkGenerated(t, outputDocPath, want)
}

func outputDoc() (string, error) {
	var b strings.Builder
	b.WriteString("# Machine-readable output: JSON lines, hooks, metrics\n\n")
	b.WriteString("Generated from the code by `make docs`; do not edit by hand.\n\n")

	progress, summary, err := renderedEvents()
	if err != nil {
		return "", err
	}
	b.WriteString("## JSON lines (`--output json`)\n\n")
	b.WriteString("`godwit migrate` writes one JSON object a line on stdout (logs go to stderr): a `progress` event at each phase change and at most once a second, then one `summary` event.\n\n")
	b.WriteString("### progress\n\n")
	if err := fieldTable(&b, progress, progressFields); err != nil {
		return "", fmt.Errorf("progress event: %w", err)
	}
	b.WriteString("\n### summary\n\nThe summary's fields are also in the hook payloads of `success` and `failure` events.\n\n")
	if err := fieldTable(&b, summary, summaryDocs); err != nil {
		return "", fmt.Errorf("summary event: %w", err)
	}

	h := &hooks{database: "d", table: "t"}
	extra := summaryFields(&migrate.Summary{})
	extra["error"] = "x"
	var hook map[string]any
	if err := json.Unmarshal(h.payload(hookFailure, migrate.PhaseCopy, time.Now(), "m", extra), &hook); err != nil {
		return "", err
	}
	for k := range summaryFields(&migrate.Summary{}) {
		delete(hook, k)
	}
	b.WriteString("\n## Hook payload (`--hook CMD`)\n\n")
	b.WriteString("Each hook gets one JSON object on stdin, with `GODWIT_EVENT` and `GODWIT_PHASE` set in its environment; `success` and `failure` events carry the summary's fields too.\n\n")
	if err := fieldTable(&b, hook, hookDocs); err != nil {
		return "", fmt.Errorf("hook payload: %w", err)
	}

	b.WriteString("\n## Prometheus metrics (`--metrics-addr`)\n\n")
	b.WriteString("Served on `/metrics`; every series has the labels `database` and `table`, beside the Go process metrics.\n\n")
	b.WriteString("| metric | type | labels | meaning |\n| --- | --- | --- | --- |\n")
	// A copy phase that began and a throttled one: the series with a label
	// of their own exist only once they have a value.
	m := newMetrics("d", "t")
	m.event(migrate.Event{Time: time.Now(), Phase: migrate.PhaseCopy, Throttled: true, ThrottleReason: "r"})
	m.event(migrate.Event{Time: time.Now(), Phase: migrate.PhaseIndexes, Throttled: true, ThrottleReason: "r"})
	families, err := m.reg.Gather()
	if err != nil {
		return "", err
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "godwit_") {
			continue
		}
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			if n := l.GetName(); n != "database" && n != "table" {
				labels = append(labels, "`"+n+"`")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.GetName(), strings.ToLower(f.GetType().String()), strings.Join(labels, ", "), f.GetHelp())
	}
	return b.String(), nil
}

// renderedEvents renders one progress event and one failed run's summary
// through the JSON output, as migrate prints them.
func renderedEvents() (progress, summary map[string]any, err error) {
	var stdout bytes.Buffer
	o, err := newOutput("json", io.Discard, &stdout)
	if err != nil {
		return nil, nil, err
	}
	o.event(migrate.Event{Time: time.Now(), Phase: migrate.PhaseCopy})
	o.finish(&migrate.Summary{Table: "t"}, errors.New("x"))
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		return nil, nil, fmt.Errorf("want a progress and a summary line, got %q", lines)
	}
	if err := json.Unmarshal([]byte(lines[0]), &progress); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal([]byte(lines[1]), &summary); err != nil {
		return nil, nil, err
	}
	return progress, summary, nil
}

// fieldTable writes a table of the fields of obj, each with its
// description, and fails on a field without one or a description of a
// field the code no longer emits.
func fieldTable(b *strings.Builder, obj map[string]any, docs map[string]string) error {
	var names []string
	for k := range obj {
		if _, ok := docs[k]; !ok {
			return fmt.Errorf("field %q has no description: add one in outputdoc_test.go", k)
		}
		names = append(names, k)
	}
	for k := range docs {
		if _, ok := obj[k]; !ok {
			return fmt.Errorf("field %q is described but not emitted: remove it from outputdoc_test.go", k)
		}
	}
	slices.Sort(names)
	b.WriteString("| field | type | meaning |\n| --- | --- | --- |\n")
	for _, k := range names {
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", k, jsonType(obj[k]), docs[k])
	}
	return nil
}

func jsonType(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case map[string]any:
		return "object"
	default:
		return "array or null"
	}
}
