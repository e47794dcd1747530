package mysqlx

import (
	"crypto/tls"
	"testing"
)

// TestDriverConfigTransport: where and how the SQL driver connects, for
// the combinations of socket and TLS settings.
func TestDriverConfigTransport(t *testing.T) {
	skip := &tls.Config{InsecureSkipVerify: true}
	for _, tc := range []struct {
		name          string
		c             Config
		net, addr     string
		tls, fallback bool
	}{
		{"tcp in the clear", Config{Host: "h", Port: 3307}, "tcp", "h:3307", false, false},
		{"tcp, TLS required", Config{Host: "h", Port: 3307, TLS: skip}, "tcp", "h:3307", true, false},
		{"tcp, TLS preferred", Config{Host: "h", Port: 3307, TLS: skip, TLSPreferred: true}, "tcp", "h:3307", true, true},
		{"socket in the clear", Config{Host: "h", Port: 3307, Socket: "/run/m.sock"}, "unix", "/run/m.sock", false, false},
		{"socket, TLS required", Config{Socket: "/run/m.sock", TLS: skip}, "unix", "/run/m.sock", true, false},
		// The mysql client's rule: a socket is secure already.
		{"socket, TLS preferred", Config{Socket: "/run/m.sock", TLS: skip, TLSPreferred: true}, "unix", "/run/m.sock", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc := tc.c.driverConfig()
			if mc.Net != tc.net || mc.Addr != tc.addr {
				t.Errorf("net %s addr %s, want %s %s", mc.Net, mc.Addr, tc.net, tc.addr)
			}
			if (mc.TLS != nil) != tc.tls || mc.TLS != nil && mc.AllowFallbackToPlaintext != tc.fallback {
				t.Errorf("TLS %v fallback %v, want %v %v", mc.TLS != nil, mc.AllowFallbackToPlaintext, tc.tls, tc.fallback)
			}
			if tc.c.Addr() != tc.addr {
				t.Errorf("Addr() = %s, want %s", tc.c.Addr(), tc.addr)
			}
		})
	}
}
