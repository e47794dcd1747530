// Command demo is what `make demo` runs: it fills a sysbench-like table on
// the sandbox, keeps writing to it, migrates it with the godwit binary
// (progress bar on a terminal), then checks every row against what the
// writers committed.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows in the demo table")
	rate := flag.Int("rate", 500, "writes per second during the migration")
	bin := flag.String("godwit", "bin/godwit", "the godwit binary")
	alter := flag.String("alter", "MODIFY c VARCHAR(130) NOT NULL, ADD COLUMN note VARCHAR(32) NOT NULL DEFAULT 'migrated'", "the change")
	flag.Parse()
	if err := run(*rows, *rate, *bin, *alter); err != nil {
		log.Fatalf("demo: %v", err)
	}
}

func sandboxConfig() (mysqlx.Config, error) {
	port, err := strconv.Atoi(os.Getenv("GODWIT_TEST_PORT"))
	if err != nil {
		return mysqlx.Config{}, fmt.Errorf("no sandbox in the environment (run make demo): %w", err)
	}
	return mysqlx.Config{Host: os.Getenv("GODWIT_TEST_HOST"), Port: port, User: os.Getenv("GODWIT_TEST_USER"),
		Password: os.Getenv("GODWIT_TEST_PASSWORD"), Database: "godwit_demo"}, nil
}

func run(rows, rate int, bin, alter string) error {
	ctx := context.Background()
	cfg, err := sandboxConfig()
	if err != nil {
		return err
	}
	admin := cfg
	admin.Database = ""
	adb, err := mysqlx.Open(ctx, admin)
	if err != nil {
		return err
	}
	defer adb.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS godwit_demo", "CREATE DATABASE godwit_demo"} {
		if _, err := adb.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	db, err := mysqlx.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(32)

	start := time.Now()
	fmt.Printf("demo: creating sbtest (id, k, c CHAR(120), pad CHAR(60), KEY k) with %d rows...\n", rows)
	if err := fill(ctx, db, rows); err != nil {
		return err
	}
	fmt.Printf("demo: %d rows in %s\n", rows, time.Since(start).Round(time.Millisecond))

	w := startWriters(ctx, db, rows, rate, 4)
	time.Sleep(2 * time.Second)
	fmt.Printf("demo: %d writes/s running (inserts, updates, deletes, key changes)\n", rate)
	fmt.Printf("demo: %s migrate --database godwit_demo --table sbtest --alter %q\n\n", bin, alter)

	cmd := exec.CommandContext(ctx, bin, "migrate", "--host", cfg.Host, "--port", strconv.Itoa(cfg.Port), "--user", cfg.User,
		"--database", "godwit_demo", "--table", "sbtest", "--alter", alter, "--output", os.Getenv("GODWIT_DEMO_OUTPUT"))
	if cmd.Args[len(cmd.Args)-1] == "" {
		cmd.Args = cmd.Args[:len(cmd.Args)-2]
	}
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+cfg.Password)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	migErr := cmd.Run()

	time.Sleep(time.Second) // writes continue into the new table
	st, werr := w.stop()
	fmt.Printf("\ndemo: writers: %d inserts, %d updates, %d deletes, %d key changes; latency p50 %s p99 %s max %s\n",
		st.inserts, st.updates, st.deletes, st.moves, st.p(50), st.p(99), st.p(100))
	if migErr != nil {
		return fmt.Errorf("godwit migrate: %w", migErr)
	}
	if werr != nil {
		return fmt.Errorf("writers: %w", werr)
	}
	n, err := w.model.verify(ctx, db)
	if err != nil {
		return err
	}
	fmt.Printf("demo: verified: all %d rows of the migrated sbtest equal what the writers committed\n", n)
	return nil
}

func fill(ctx context.Context, db *sql.DB, rows int) error {
	stmts := []string{
		`CREATE TABLE sbtest (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k (k)) ENGINE=InnoDB`,
	}
	for lo := 1; lo <= rows; lo += 100_000 {
		hi := min(lo+99_999, rows)
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO sbtest SELECT seq, (seq * 7919) %% 1000003, CONCAT(REPEAT('c', 100), '-', seq), REPEAT('p', 60) FROM seq_%d_to_%d`, lo, hi))
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
	}
	return nil
}
