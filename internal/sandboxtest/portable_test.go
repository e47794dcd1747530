package sandboxtest

import "testing"

func TestPortable(t *testing.T) {
	for _, tc := range []struct {
		query string
		mysql bool
		want  string
	}{
		{"INSERT INTO t SELECT seq FROM seq_1_to_100", false, "INSERT INTO t SELECT seq FROM seq_1_to_100"},
		{"INSERT INTO t SELECT seq FROM seq_1_to_100", true,
			"INSERT INTO t SELECT seq FROM (WITH RECURSIVE gen(seq) AS (SELECT CAST(1 AS UNSIGNED) UNION ALL SELECT seq + 1 FROM gen WHERE seq < 100) SELECT seq FROM gen) AS gen_1_to_100"},
		{"SELECT seq FROM seq_0_to_9 WHERE seq > 2", true,
			"SELECT seq FROM (WITH RECURSIVE gen(seq) AS (SELECT CAST(0 AS UNSIGNED) UNION ALL SELECT seq + 1 FROM gen WHERE seq < 9) SELECT seq FROM gen) AS gen_0_to_9 WHERE seq > 2"},
		{"SELECT 1 FROM myseq_1_to_2", true, "SELECT 1 FROM myseq_1_to_2"},
	} {
		if again := Portable(Portable(tc.query, tc.mysql), tc.mysql); again != tc.want {
			t.Errorf("Portable twice on %q =\n%s\nwant\n%s", tc.query, again, tc.want)
		}
		if got := Portable(tc.query, tc.mysql); got != tc.want {
			t.Errorf("Portable(%q, %v) =\n%s\nwant\n%s", tc.query, tc.mysql, got, tc.want)
		}
	}
}
