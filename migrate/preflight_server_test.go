package migrate

import (
	"strings"
	"testing"
)

func TestCheckServerVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		refused bool
		warns   bool
	}{
		{"10.11.19-MariaDB-0+deb12u1-log", false, false},
		{"11.8.9-MariaDB-0+deb13u1", false, false},
		{"9.7.4", false, false},
		{"8.0.41", false, true},
		{"8.4.5-log", false, true},
		{"10.6.21-MariaDB", false, true},
		{"11.4.5-MariaDB", false, true},
		{"5.7.44-log", true, false},
		{"10.5.27-MariaDB", true, false},
		{"10.3.39-MariaDB", true, false},
		{"8.0.11-TiDB-v7.5.0", true, false},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s := Server{Version: tc.version, Flavor: "mysql"}
			if strings.Contains(tc.version, "MariaDB") {
				s.Flavor = "mariadb"
			}
			warning, err := checkServerVersion(s)
			if (err != nil) != tc.refused {
				t.Fatalf("refused = %v (%v), want %v", err != nil, err, tc.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "MariaDB 10.6") {
				t.Errorf("the refusal does not name the supported versions: %v", err)
			}
			if (warning != "") != tc.warns {
				t.Errorf("warning = %q, want one: %v", warning, tc.warns)
			}
			if warning != "" && !strings.Contains(warning, TestedServers) {
				t.Errorf("the warning does not name the tested servers: %q", warning)
			}
		})
	}
}
