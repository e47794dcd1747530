package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// loadPredictEnv reads what the prediction needs from the server: its
// character sets and collations, and how it defaults TIMESTAMP columns.
// It only reads.
func loadPredictEnv(ctx context.Context, db *sql.DB, server Server) (predictEnv, error) {
	env := predictEnv{server: parseServerVersion(server), explicitTimestamp: true}
	ci := &charsetInfo{defaultCollation: map[string]string{}, charsetOf: map[string]string{}, maxLen: map[string]int64{}}
	rows, err := db.QueryContext(ctx, mysqlx.Tag+"SELECT CHARACTER_SET_NAME, DEFAULT_COLLATE_NAME, MAXLEN FROM information_schema.CHARACTER_SETS")
	if err != nil {
		return env, fmt.Errorf("read character sets: %w", err)
	}
	for rows.Next() {
		var cs, coll string
		var n int64
		if err := rows.Scan(&cs, &coll, &n); err != nil {
			rows.Close()
			return env, fmt.Errorf("read character sets: %w", err)
		}
		ci.defaultCollation[strings.ToLower(cs)], ci.maxLen[strings.ToLower(cs)] = strings.ToLower(coll), n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return env, fmt.Errorf("read character sets: %w", err)
	}
	rows, err = db.QueryContext(ctx, mysqlx.Tag+"SELECT COLLATION_NAME, CHARACTER_SET_NAME FROM information_schema.COLLATIONS")
	if err != nil {
		return env, fmt.Errorf("read collations: %w", err)
	}
	for rows.Next() {
		var coll string
		var cs sql.NullString // MariaDB 11 lists some collations for no single charset
		if err := rows.Scan(&coll, &cs); err != nil {
			rows.Close()
			return env, fmt.Errorf("read collations: %w", err)
		}
		if cs.Valid {
			ci.charsetOf[strings.ToLower(coll)] = strings.ToLower(cs.String)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return env, fmt.Errorf("read collations: %w", err)
	}
	// MariaDB 11.2+ lets @@character_set_collations override the default
	// collation of a charset ("utf8mb4=uca1400_ai_ci,...").
	if v, ok, err := variable(ctx, db, "character_set_collations"); err != nil {
		return env, err
	} else if ok && v != "" {
		for _, pair := range strings.Split(v, ",") {
			cs, coll, found := strings.Cut(strings.TrimSpace(pair), "=")
			if !found {
				continue
			}
			cs, coll = strings.ToLower(strings.TrimSpace(cs)), strings.ToLower(strings.TrimSpace(coll))
			if !strings.HasPrefix(coll, cs+"_") {
				coll = cs + "_" + coll
			}
			ci.defaultCollation[cs] = coll
		}
	}
	env.charsets = ci
	if v, ok, err := variable(ctx, db, "explicit_defaults_for_timestamp"); err != nil {
		return env, err
	} else if ok {
		env.explicitTimestamp = strings.EqualFold(v, "ON") || v == "1"
	}
	return env, nil
}
