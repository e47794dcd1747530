package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// tlsOptions are what --ssl-mode, --ssl-ca, --ssl-cert and --ssl-key (or
// their keys in a --defaults-file) say.
type tlsOptions struct {
	mode           string
	modeSet        bool // given by a flag or the defaults file, not the default
	ca, cert, key  string
	host           string // checked against the certificate by VERIFY_IDENTITY
	modeFromSource string // where mode came from, for messages
}

// tlsConfig builds what the options ask for, with the mysql client's names
// and meanings: DISABLED (the default) connects in the clear; PREFERRED
// encrypts when the server offers TLS and falls back to the clear when it
// does not (and, as the mysql client, never over a unix socket: see
// mysqlx.Config.TLSPreferred); REQUIRED encrypts without checking the
// server's certificate (unless --ssl-ca is given, then as VERIFY_CA);
// VERIFY_CA checks that the certificate is signed by --ssl-ca (or a system
// CA); VERIFY_IDENTITY checks also that it names host.
//
// With no mode given, --ssl-ca means VERIFY_CA (as the mysql client) and
// --ssl-cert/--ssl-key mean REQUIRED: a client certificate is only ever
// asked for by a server that also insists on TLS.
//
// preferred says that the connection may fall back to the clear.
func tlsConfig(o tlsOptions) (cfg *tls.Config, preferred bool, err error) {
	mode := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(o.mode), "-", "_"))
	from := o.modeFromSource
	if from == "" {
		from = "--ssl-mode"
	}
	switch mode {
	case "", "DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY":
	default:
		return nil, false, fmt.Errorf("%s %q: want DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY", from, o.mode)
	}
	if (o.cert == "") != (o.key == "") {
		if o.cert == "" {
			return nil, false, errors.New("--ssl-key needs --ssl-cert, the client certificate it belongs to")
		}
		return nil, false, errors.New("--ssl-cert needs --ssl-key, the private key of the client certificate")
	}
	if !o.modeSet || mode == "" {
		switch {
		case o.ca != "":
			mode = "VERIFY_CA"
		case o.cert != "":
			mode = "REQUIRED"
		default:
			mode = "DISABLED"
		}
	}
	if mode == "DISABLED" {
		if o.ca != "" || o.cert != "" {
			// A certificate that would be ignored is a mistake.
			return nil, false, fmt.Errorf("%s DISABLED connects in the clear: --ssl-ca, --ssl-cert and --ssl-key need PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY", from)
		}
		return nil, false, nil
	}
	if mode == "REQUIRED" && o.ca != "" {
		mode = "VERIFY_CA"
	}
	var roots *x509.CertPool
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, false, fmt.Errorf("--ssl-ca: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, false, fmt.Errorf("--ssl-ca %s holds no PEM certificate", o.ca)
		}
	}
	var certs []tls.Certificate
	if o.cert != "" {
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, false, fmt.Errorf("--ssl-cert %s, --ssl-key %s: %w", o.cert, o.key, err)
		}
		certs = []tls.Certificate{pair}
	}
	switch mode {
	case "PREFERRED":
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, Certificates: certs}, true, nil
	case "REQUIRED":
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, Certificates: certs}, false, nil
	case "VERIFY_CA":
		// Go checks the chain only together with the name; the chain alone
		// is checked here, as the mysql client's VERIFY_CA does.
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, Certificates: certs,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("the server sent no certificate")
				}
				opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
				for _, c := range cs.PeerCertificates[1:] {
					opts.Intermediates.AddCert(c)
				}
				_, err := cs.PeerCertificates[0].Verify(opts)
				return err
			}}, false, nil
	default: // VERIFY_IDENTITY
		return &tls.Config{RootCAs: roots, ServerName: o.host, MinVersion: tls.VersionTLS12, Certificates: certs}, false, nil
	}
}
