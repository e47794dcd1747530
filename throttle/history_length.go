package throttle

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// HistoryLength measures InnoDB's history list length: undo records of
// committed transactions that purge has not removed yet. It grows while a
// long transaction (or a purge that cannot keep up) holds old row versions,
// and every read then walks longer version chains.
//
// It reads the trx_rseg_history_len counter of
// information_schema.INNODB_METRICS (MariaDB 10.11, MySQL 8), and SHOW
// ENGINE INNODB STATUS when that counter is disabled
// (innodb_monitor_disable) or missing.
type HistoryLength struct{ db *sql.DB }

// NewHistoryLength watches the server db is connected to.
func NewHistoryLength(db *sql.DB) *HistoryLength { return &HistoryLength{db: db} }

// Name is "InnoDB history list length".
func (p *HistoryLength) Name() string { return "InnoDB history list length" }

// Measure returns the history list length.
func (p *HistoryLength) Measure(ctx context.Context) (float64, error) {
	rows, err := mysqlx.QueryMaps(ctx, p.db,
		"SELECT * FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'")
	if err == nil && len(rows) == 1 && metricEnabled(rows[0]) {
		v, _ := field(rows[0], "COUNT", "count")
		if n, err := strconv.ParseFloat(v.String, 64); err == nil {
			return n, nil
		}
	}
	return p.fromEngineStatus(ctx)
}

// metricEnabled reads MariaDB's ENABLED (1) or MySQL's STATUS ("enabled").
func metricEnabled(row map[string]sql.NullString) bool {
	if v, ok := field(row, "ENABLED", "enabled"); ok {
		return v.String == "1"
	}
	v, _ := field(row, "STATUS", "status")
	return strings.EqualFold(v.String, "enabled")
}

var historyRe = regexp.MustCompile(`History list length (\d+)`)

func (p *HistoryLength) fromEngineStatus(ctx context.Context) (float64, error) {
	var typ, name, status string
	err := p.db.QueryRowContext(ctx, mysqlx.Tag+"SHOW ENGINE INNODB STATUS").Scan(&typ, &name, &status)
	if err != nil {
		return 0, err
	}
	m := historyRe.FindStringSubmatch(status)
	if m == nil {
		return 0, errors.New("SHOW ENGINE INNODB STATUS has no history list length")
	}
	return strconv.ParseFloat(m[1], 64)
}
