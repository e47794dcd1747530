package copier

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

func debugRun(t *testing.T, c *Copier, db *sql.DB) error {
	ctx := t.Context()
	c.defaults()
	for !c.done {
		if c.Wait != nil {
			if err := c.Wait(ctx); err != nil {
				return err
			}
		}
		chunk, err := c.Plan.nextChunk(ctx, c.DB, c.watermark, c.progress.ChunkSize)
		if err != nil {
			return err
		}
		start := time.Now()
		n, err := c.Plan.copyChunk(ctx, c.DB, chunk)
		if err != nil {
			return fmt.Errorf("copy chunk %v: %w", chunk, err)
		}
		c.tune(time.Since(start))
		c.watermark, c.done = chunk.Upper, chunk.Upper == nil
		c.progress.Chunks++
		c.progress.RowsCopied += n
		keys := c.Changes.Take()
		upto := c.watermark
		if c.done {
			upto = nil
		}
		if _, err := c.Plan.applyTx(ctx, c.DB, keys, upto); err != nil {
			t.Logf("watermark %#v", upto)
			for _, k := range keys {
				t.Logf("key %#v", k)
				for _, tbl := range []string{c.Plan.Source, c.Plan.Shadow} {
					rows, _ := db.Query(fmt.Sprintf("SELECT HEX(a), a, b, v FROM %s WHERE a = ? AND b = ?", tbl), k...)
					for rows.Next() {
						var h, a, v sql.NullString
						var b uint64
						rows.Scan(&h, &a, &b, &v)
						t.Logf("   %s: %s %q %d %q", tbl, h.String, a.String, b, v.String)
					}
					rows.Close()
				}
			}
			var args []any
			for _, k := range keys {
				args = append(args, k...)
			}
			where := c.Plan.Key.in(false, len(keys))
			if upto != nil {
				where += " AND " + c.Plan.Key.compare(false, "<=")
				args = append(args, c.Plan.Key.compareArgs(upto)...)
			}
			for _, q := range []string{
				"SELECT HEX(a), b FROM " + c.Plan.source() + " FORCE INDEX (PRIMARY) WHERE " + where,
				"SELECT HEX(a), b FROM " + c.Plan.source() + " IGNORE INDEX (PRIMARY) WHERE " + where,
				"SELECT HEX(a), b FROM " + c.Plan.shadow() + " WHERE a IN ('', ' ') OR a < 'a'",
				"SELECT HEX(a), b FROM " + c.Plan.source() + " WHERE a IN ('', ' ') OR a < 'a'",
			} {
				t.Logf("%s %v", q, args)
				rows, err := db.Query(q, args[:strings.Count(q, "?")]...)
				if err != nil {
					t.Log(err)
					continue
				}
				for rows.Next() {
					var h string
					var b uint64
					rows.Scan(&h, &b)
					t.Logf("    %q %d", h, b)
				}
				rows.Close()
			}
			return err
		}
	}
	_ = strings.Join
	return nil
}
