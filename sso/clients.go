package sso

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"reflect"
	"sync"

	"github.com/civiq/civiq"
)

// Clients are the identity platform's and the directory's clients of the
// settings in force (civiq.Engine.SSOInForce: an admin's, else the
// flags'), made again when those change, so that a change takes effect
// without a restart.
type Clients struct {
	Engine *civiq.Engine
	// HTTP reaches the identity platform (nil: NewOIDC's, guarded, to
	// the addresses civiq.Engine.OIDCAllow allows).
	HTTP *http.Client
	// LDAPRoots are the certificates that sign the directory's (civiq
	// serve --ldap-ca-file); nil: the system's.
	LDAPRoots *x509.CertPool

	mu      sync.Mutex
	oidcFor *civiq.OIDCSettings
	oidc    *OIDC // made of oidcFor: its discovery document stays
}

// OIDC is the identity platform's client, nil when none is set up.
func (c *Clients) OIDC(ctx context.Context) (*OIDC, error) {
	s, err := c.Engine.SSOInForce(ctx)
	if err != nil || s.OIDC == nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oidc != nil && (c.oidcFor == s.OIDC || reflect.DeepEqual(c.oidcFor, s.OIDC)) {
		return c.oidc, nil
	}
	o, err := NewOIDC(OIDCConfig{OIDCSettings: *s.OIDC, Allow: c.Engine.OIDCAllow, HTTP: c.HTTP})
	if err != nil {
		return nil, err
	}
	c.oidc, c.oidcFor = o, s.OIDC
	return o, nil
}

// Directory makes the directory's client of s (civiq.Engine.MakeDirectory).
func (c *Clients) Directory(s *civiq.LDAPSettings) (civiq.Directory, error) {
	cfg := LDAPConfig{LDAPSettings: *s, Allow: c.Engine.LDAPAllow}
	if c.LDAPRoots != nil {
		u, err := url.Parse(s.URL)
		if err != nil {
			return nil, err
		}
		cfg.TLS = &tls.Config{RootCAs: c.LDAPRoots, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	return NewLDAP(cfg)
}
