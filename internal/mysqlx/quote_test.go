package mysqlx

import "testing"

func TestQuoteString(t *testing.T) {
	for _, c := range []struct {
		in   string
		nbe  bool
		want string
	}{
		{`o'brien`, false, `'o''brien'`},
		{`a\b`, false, `'a\\b'`},
		{`a\b`, true, `'a\b'`},
		{`a\'b`, false, `'a\\''b'`},
		{`a\'b`, true, `'a\''b'`},
	} {
		if got := QuoteString(c.in, c.nbe); got != c.want {
			t.Errorf("QuoteString(%q, %v) = %s, want %s", c.in, c.nbe, got, c.want)
		}
	}
}
