package main

import (
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// tlsKind names what a *tls.Config checks, for the tables below.
func tlsKind(cfg *tls.Config) string {
	switch {
	case cfg == nil:
		return "none"
	case cfg.ServerName != "" && !cfg.InsecureSkipVerify:
		return "name"
	case cfg.VerifyConnection != nil:
		return "chain"
	case cfg.InsecureSkipVerify:
		return "skip"
	}
	return "?"
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := ca.writeCA(t, dir)
	cert, key := ca.issueClient(t, dir, "client")
	_, otherKey := ca.issueClient(t, dir, "other")
	notPEM := writeFile(t, dir, "not.pem", "hello\n")
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name      string
		o         tlsOptions
		want      string // tlsKind, or "error: <part of the message>"
		preferred bool
		withCert  bool
	}{
		{name: "default", o: tlsOptions{mode: "DISABLED"}, want: "none"},
		{name: "empty", o: tlsOptions{mode: "", modeSet: true}, want: "none"},
		{name: "disabled", o: tlsOptions{mode: "disabled", modeSet: true}, want: "none"},
		{name: "preferred", o: tlsOptions{mode: "PREFERRED", modeSet: true}, want: "skip", preferred: true},
		{name: "preferred, lower case with spaces", o: tlsOptions{mode: " preferred ", modeSet: true}, want: "skip", preferred: true},
		{name: "required", o: tlsOptions{mode: "REQUIRED", modeSet: true}, want: "skip"},
		{name: "required with a CA checks the chain", o: tlsOptions{mode: "REQUIRED", modeSet: true, ca: caFile}, want: "chain"},
		{name: "verify-ca with a dash", o: tlsOptions{mode: "verify-ca", modeSet: true}, want: "chain"},
		{name: "verify identity", o: tlsOptions{mode: "VERIFY_IDENTITY", modeSet: true, ca: caFile, host: "db1.example"}, want: "name"},
		{name: "CA without a mode means VERIFY_CA", o: tlsOptions{mode: "DISABLED", ca: caFile}, want: "chain"},
		{name: "client certificate without a mode means REQUIRED", o: tlsOptions{mode: "DISABLED", cert: cert, key: key}, want: "skip", withCert: true},
		{name: "client certificate with PREFERRED", o: tlsOptions{mode: "PREFERRED", modeSet: true, cert: cert, key: key}, want: "skip", preferred: true, withCert: true},
		{name: "client certificate with VERIFY_IDENTITY", o: tlsOptions{mode: "VERIFY_IDENTITY", modeSet: true, ca: caFile, cert: cert, key: key, host: "h"}, want: "name", withCert: true},

		{name: "unknown mode", o: tlsOptions{mode: "yes", modeSet: true}, want: `error: --ssl-mode "yes": want DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY`},
		{name: "unknown mode from the defaults file", o: tlsOptions{mode: "ON", modeSet: true, modeFromSource: "ssl-mode in --defaults-file my.cnf"}, want: `error: ssl-mode in --defaults-file my.cnf "ON"`},
		{name: "explicit DISABLED with a CA", o: tlsOptions{mode: "DISABLED", modeSet: true, ca: caFile}, want: "error: --ssl-mode DISABLED connects in the clear"},
		{name: "explicit DISABLED with a client certificate", o: tlsOptions{mode: "DISABLED", modeSet: true, cert: cert, key: key}, want: "error: --ssl-mode DISABLED connects in the clear"},
		{name: "certificate without key", o: tlsOptions{mode: "REQUIRED", modeSet: true, cert: cert}, want: "error: --ssl-cert needs --ssl-key"},
		{name: "key without certificate", o: tlsOptions{mode: "REQUIRED", modeSet: true, key: key}, want: "error: --ssl-key needs --ssl-cert"},
		{name: "key of another certificate", o: tlsOptions{mode: "REQUIRED", modeSet: true, cert: cert, key: otherKey}, want: "error: private key does not match public key"},
		{name: "missing certificate file", o: tlsOptions{mode: "REQUIRED", modeSet: true, cert: missing, key: key}, want: "error: no such file"},
		{name: "certificate file without PEM", o: tlsOptions{mode: "REQUIRED", modeSet: true, cert: notPEM, key: key}, want: "error: --ssl-cert " + notPEM},
		{name: "missing CA file", o: tlsOptions{mode: "REQUIRED", modeSet: true, ca: missing}, want: "error: --ssl-ca: open " + missing},
		{name: "CA file without PEM", o: tlsOptions{mode: "VERIFY_CA", modeSet: true, ca: notPEM}, want: "error: holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, preferred, err := tlsConfig(tc.o)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tlsKind(cfg); got != tc.want {
				t.Errorf("kind %s, want %s", got, tc.want)
			}
			if preferred != tc.preferred {
				t.Errorf("preferred = %v, want %v", preferred, tc.preferred)
			}
			if cfg != nil && (len(cfg.Certificates) == 1) != tc.withCert {
				t.Errorf("%d client certificates, want one: %v", len(cfg.Certificates), tc.withCert)
			}
			if cfg != nil && tc.want == "name" && cfg.ServerName != tc.o.host {
				t.Errorf("ServerName %q, want %q", cfg.ServerName, tc.o.host)
			}
		})
	}
}

// TestConnConfigTLSAndSocket: the TLS and socket keys from flags and the
// defaults file, and which wins.
func TestConnConfigTLSAndSocket(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := ca.writeCA(t, dir)
	cert, key := ca.issueClient(t, dir, "client")
	// A real socket: config checks that the path is one.
	sock := filepath.Join(dir, "mysqld.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	file := func(name, body string) string { return writeFile(t, dir, name, "[client]\n"+body) }
	req := []string{"--database", "d", "--table", "t"}
	args := func(a ...string) []string { return append(a, req...) }

	full := file("full.cnf", "ssl-mode = VERIFY_IDENTITY\nssl-ca = "+caFile+"\nssl-cert = "+cert+"\nssl-key = "+key+"\nhost = localhost\nsocket = "+sock+"\n")
	certsOnly := file("certs.cnf", "ssl-cert = "+cert+"\nssl-key = "+key+"\n")
	caOnly := file("ca.cnf", "ssl_ca = "+caFile+"\n")
	preferred := file("pref.cnf", "[godwit]\nssl-mode = preferred\n")
	remoteSocket := file("remote.cnf", "host = db1.example\nsocket = "+sock+"\n")
	badMode := file("badmode.cnf", "ssl-mode = ON\n")
	certNoKey := file("nokey.cnf", "ssl-cert = "+cert+"\n")
	missingCA := file("missingca.cnf", "ssl-ca = "+filepath.Join(dir, "nope.pem")+"\n")
	notSocket := file("notsock.cnf", "socket = "+caFile+"\n")

	for _, tc := range []struct {
		name      string
		args      []string
		tls       string // tlsKind
		preferred bool
		withCert  bool
		socket    string
		host      string
	}{
		{name: "nothing: in the clear over TCP", args: args(), tls: "none", host: "127.0.0.1"},
		{name: "--ssl-mode PREFERRED", args: args("--ssl-mode", "PREFERRED"), tls: "skip", preferred: true, host: "127.0.0.1"},
		{name: "client certificate flags", args: args("--ssl-mode", "REQUIRED", "--ssl-cert", cert, "--ssl-key", key), tls: "skip", withCert: true, host: "127.0.0.1"},
		{name: "everything from the file", args: args("--defaults-file", full), tls: "name", withCert: true, socket: sock, host: "localhost"},
		{name: "a --host flag beats the file's socket", args: args("--defaults-file", full, "--host", "db2"), tls: "name", withCert: true, host: "db2"},
		{name: "a --port flag beats the file's socket", args: args("--defaults-file", full, "--port", "3307"), tls: "name", withCert: true, host: "localhost"},
		{name: "the file's socket is not for another host", args: args("--defaults-file", remoteSocket), tls: "none", host: "db1.example"},
		{name: "--ssl-mode beats the file's", args: args("--defaults-file", full, "--ssl-mode", "VERIFY_CA"), tls: "chain", withCert: true, socket: sock, host: "localhost"},
		{name: "--ssl-mode DISABLED leaves the file's certificates unused", args: args("--defaults-file", full, "--ssl-mode", "DISABLED"), tls: "none", socket: sock, host: "localhost"},
		{name: "certificates in the file without a mode mean REQUIRED", args: args("--defaults-file", certsOnly), tls: "skip", withCert: true, host: "127.0.0.1"},
		{name: "a CA in the file without a mode means VERIFY_CA", args: args("--defaults-file", caOnly), tls: "chain", host: "127.0.0.1"},
		{name: "PREFERRED from the godwit section", args: args("--defaults-file", preferred), tls: "skip", preferred: true, host: "127.0.0.1"},
		{name: "--socket flag", args: args("--socket", sock), tls: "none", socket: sock, host: "127.0.0.1"},
		{name: "--socket flag with PREFERRED", args: args("--socket", sock, "--ssl-mode", "PREFERRED"), tls: "skip", preferred: true, socket: sock, host: "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setPwdEnv(t, nil)
			c, fs := parseConnFlags(t, tc.args...)
			cfg, err := c.config(fs)
			if err != nil {
				t.Fatal(err)
			}
			if got := tlsKind(cfg.TLS); got != tc.tls {
				t.Errorf("TLS %s, want %s", got, tc.tls)
			}
			if cfg.TLSPreferred != tc.preferred {
				t.Errorf("TLSPreferred = %v, want %v", cfg.TLSPreferred, tc.preferred)
			}
			if cfg.TLS != nil && (len(cfg.TLS.Certificates) == 1) != tc.withCert {
				t.Errorf("%d client certificates, want one: %v", len(cfg.TLS.Certificates), tc.withCert)
			}
			if cfg.Socket != tc.socket || cfg.Host != tc.host {
				t.Errorf("socket %q host %q, want %q and %q", cfg.Socket, cfg.Host, tc.socket, tc.host)
			}
		})
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown --ssl-mode", args("--ssl-mode", "ON"), `--ssl-mode "ON": want DISABLED, PREFERRED`},
		{"unknown ssl-mode in the file", args("--defaults-file", badMode), `ssl-mode in --defaults-file ` + badMode + ` "ON"`},
		{"--ssl-cert without --ssl-key", args("--ssl-mode", "REQUIRED", "--ssl-cert", cert), "--ssl-cert needs --ssl-key"},
		{"ssl-cert without ssl-key in the file", args("--defaults-file", certNoKey), "--ssl-cert needs --ssl-key"},
		{"--ssl-key without --ssl-cert", args("--ssl-key", key), "--ssl-key needs --ssl-cert"},
		{"missing --ssl-cert file", args("--ssl-cert", filepath.Join(dir, "nope.pem"), "--ssl-key", key), "no such file"},
		{"missing ssl-ca of the file", args("--defaults-file", missingCA), "--ssl-ca: open"},
		{"--ssl-ca with --ssl-mode DISABLED", args("--ssl-mode", "DISABLED", "--ssl-ca", caFile), "--ssl-mode DISABLED connects in the clear"},
		{"--socket with --host", args("--socket", sock, "--host", "h"), "give one or the other"},
		{"--socket with --port", args("--socket", sock, "--port", "3307"), "give one or the other"},
		{"empty --socket", args("--socket="), "--socket needs the path"},
		{"missing --socket", args("--socket", filepath.Join(dir, "nope.sock")), "--socket: stat " + filepath.Join(dir, "nope.sock") + ": no such file or directory (the server names its socket file in SELECT @@socket)"},
		{"a socket that is a plain file", args("--defaults-file", notSocket), "socket in --defaults-file " + notSocket + ": " + caFile + " is not a unix socket (the server names its socket file in SELECT @@socket)"},
	} {
		t.Run("usage error/"+tc.name, func(t *testing.T) {
			setPwdEnv(t, nil)
			c, fs := parseConnFlags(t, tc.args...)
			_, err := c.config(fs)
			var ue usageError
			if !errors.As(err, &ue) || exitCode(err) != exitUsage {
				t.Fatalf("err = %v (%T), want a usage error (exit %d)", err, err, exitUsage)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
