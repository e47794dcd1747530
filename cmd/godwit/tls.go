package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// tlsConfig builds what --ssl-mode and --ssl-ca ask for, with the mysql
// client's names and meanings: DISABLED (the default) connects in the
// clear; REQUIRED encrypts without checking the server's certificate
// (unless --ssl-ca is given, then as VERIFY_CA); VERIFY_CA checks that the
// certificate is signed by --ssl-ca (or a system CA); VERIFY_IDENTITY
// checks also that it names host.
func tlsConfig(mode, caFile, host string) (*tls.Config, error) {
	mode = strings.ToUpper(strings.ReplaceAll(mode, "-", "_"))
	switch {
	case mode == "REQUIRED" && caFile != "":
		mode = "VERIFY_CA"
	case (mode == "" || mode == "DISABLED") && caFile != "":
		return nil, errors.New("--ssl-ca needs --ssl-mode REQUIRED, VERIFY_CA or VERIFY_IDENTITY")
	}
	var roots *x509.CertPool
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ssl-ca: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ssl-ca %s holds no PEM certificate", caFile)
		}
	}
	switch mode {
	case "", "DISABLED":
		return nil, nil
	case "REQUIRED":
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil
	case "VERIFY_CA":
		// Go checks the chain only together with the name; the chain alone
		// is checked here, as the mysql client's VERIFY_CA does.
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
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
			}}, nil
	case "VERIFY_IDENTITY":
		return &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}, nil
	}
	return nil, fmt.Errorf("--ssl-mode %q: want DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY", mode)
}
