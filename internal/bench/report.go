package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// dur is a duration that reads well in the terminal and is milliseconds in
// the JSON file.
type dur time.Duration

func (d dur) MarshalJSON() ([]byte, error) { return json.Marshal(ms3(time.Duration(d))) }

func (d dur) String() string { return short(time.Duration(d)) }

func ms3(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// short rounds a duration to about three significant digits.
func short(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}

// si writes a rate as 123k or 1.23M.
func si(f float64) string {
	switch {
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e4:
		return fmt.Sprintf("%.0fk", f/1e3)
	case f >= 1e3:
		return fmt.Sprintf("%.1fk", f/1e3)
	default:
		return fmt.Sprintf("%.0f", f)
	}
}

func (r *runResult) phase(p string) string {
	for _, pt := range r.Phases {
		if pt.Phase == p {
			return pt.Took.String()
		}
	}
	return "-"
}

// print writes the summary tables.
func (res *results) print(w io.Writer) {
	fmt.Fprintf(w, "\n== results: ALTER TABLE %s %s on %s, buffer pool %d MiB, %d CPUs%s, the replica applies %s the runs\n\n",
		table, res.Alter, res.serverLabel(), res.BufferPool>>20, res.CPUs, res.diskCap(), res.ReplicaMode)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rows\trun\twall\trows/s\tvs native\tcut-over stall\tpeak RSS\treplica behind after\tCPU primary\tCPU replica\tCPU godwit\tresult\t")
	for _, r := range res.Runs {
		wall, rate, vs, stall, rss, own := "-", "-", "-", "-", "-", "-"
		if r.wall > 0 {
			wall, rate = r.Wall.String(), si(r.RowsPerSec)
		}
		if r.VsNative > 0 {
			vs = fmt.Sprintf("%.2fx", r.VsNative)
		}
		if r.Run != runNative {
			stall = r.CutoverStall.String()
			if r.PeakRSSKiB > 0 {
				rss = fmt.Sprintf("%.0f MiB", float64(r.PeakRSSKiB)/1024)
			}
			if r.GodwitCPU > 0 {
				own = r.GodwitCPU.String()
			}
		} else {
			stall = "whole ALTER"
		}
		result := "ok"
		if r.Error != "" {
			result = "FAILED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", group(r.Rows), r.title(), wall, rate, vs, stall, rss, r.ReplicaBehind,
			cpuCell(r.PrimaryCPU), cpuCell(r.ReplicaCPU), own, result)
	}
	tw.Flush()
	sep := "\n"
	for _, rt := range res.Ratios {
		if rt.Pairs > 1 {
			fmt.Fprintf(w, "%sgodwit idle vs native COPY at %s rows over %d pairs: median %.2fx (%.2fx to %.2fx)\n", sep, group(int64(rt.Scale*res.Rows)), rt.Pairs, rt.Median, rt.Min, rt.Max)
			sep = ""
		}
	}

	// godwit's phases, as godwit accounts for them.
	var phases []string
	for _, r := range res.Runs {
		for _, p := range r.Phases {
			if !slices.Contains(phases, p.Phase) {
				phases = append(phases, p.Phase)
			}
		}
	}
	slices.SortStableFunc(phases, func(a, b string) int { return rank(a) - rank(b) })
	if len(phases) > 0 {
		fmt.Fprintf(w, "\ngodwit's time per phase:\n\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "rows\trun\t%s\ttotal\t\n", strings.Join(phases, "\t"))
		for _, r := range res.Runs {
			if r.Run == runNative || len(r.Phases) == 0 {
				continue
			}
			cols := make([]string, len(phases))
			for i, p := range phases {
				cols[i] = r.phase(p)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", group(r.Rows), r.title(), strings.Join(cols, "\t"), r.GodwitTotal)
		}
		tw.Flush()
	}

	var loaded []*runResult
	for _, r := range res.Runs {
		if r.Load != nil {
			loaded = append(loaded, r)
		}
	}
	if len(loaded) > 0 {
		fmt.Fprintf(w, "\nunder load (%d writes/s target; latency p50 / p99 / max per statement, retries included):\n\n", res.Rate)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "rows\twrites/s\tretries\tbaseline\tduring migration\t±1s around swap\tslowest in phase\tapply lag p50 / max (in phase)\tmax pending\tbinlog changes\t")
		for _, r := range loaded {
			lag := "-"
			if r.ApplyLag != nil && r.ApplyLag.N > 0 {
				lag = fmt.Sprintf("%s / %s (%s)", r.ApplyLag.P50, r.ApplyLag.Max, r.ApplyLag.MaxPhase)
			}
			worst := r.Load.WorstPhase
			if worst == "" {
				worst = "-"
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", group(r.Rows), r.Load.AchievedRate, r.Load.Retries,
				r.Load.Baseline, r.Load.Migration, r.Load.Cutover, worst, lag, r.MaxPending, r.BinlogChanges)
		}
		tw.Flush()
	}
	for _, r := range res.Runs {
		if r.Error != "" {
			fmt.Fprintf(w, "\nFAILED %s at %s rows: %s\n", r.title(), group(r.Rows), r.Error)
		}
	}
}

func rank(p string) int {
	if i := slices.Index(phaseOrder, p); i >= 0 {
		return i
	}
	return len(phaseOrder)
}

// group writes 1000000 as 1,000,000.
func group(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// write saves the results as <outDir>/<timestamp>.json.
func (res *results) write(outDir string) (string, error) {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(outDir, res.stamp+".json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

func cpuCell(d dur) string {
	if d < 0 {
		return "-"
	}
	return d.String()
}

// diskCap names the -disk-iops cap in the headings, where there is one.
func (res *results) diskCap() string {
	if res.DiskIOPS == 0 {
		return ""
	}
	return fmt.Sprintf(", disk capped at %d IOPS", res.DiskIOPS)
}
