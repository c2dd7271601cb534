package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/app"
	"github.com/civiq/civiq/sso"
)

// SSOConfig is how civiq serve signs staff in besides local accounts
// (issue 17): the identity platform (OpenID Connect) and the directory
// (LDAP). Secrets come from the environment only, never a flag (a process
// list shows flags).
type SSOConfig struct {
	OIDCIssuer, OIDCClientID, OIDCRedirectURL string
	OIDCScopes, OIDCUsernameClaim             string
	OIDCGroupsClaim, OIDCRoles, OIDCName      string
	// OIDCAllow and LDAPAllow: the platform's and the directory's allow
	// lists, read with the flags (cidrsVar).
	OIDCAllow, LDAPAllow []netip.Prefix

	LDAPURL, LDAPBindDN, LDAPBase, LDAPFilter, LDAPSearchDN string
	LDAPStartTLS                                            bool
	LDAPCAFile, LDAPUsernameAttr                            string
	LDAPGroupAttr, LDAPGroupBase, LDAPGroupFilter           string
	LDAPRoles                                               string

	// checked and checkedRoots are the settings and the certificates
	// check read from the flags, for setSSO.
	checked      *civiq.SSOSettings
	checkedRoots *x509.CertPool
}

// The secrets of single sign-on: the identity platform's client secret,
// the directory's search account's password.
const (
	EnvOIDCClientSecret   = "CIVIQ_OIDC_CLIENT_SECRET"
	EnvLDAPSearchPassword = "CIVIQ_LDAP_SEARCH_PASSWORD"
)

// ssoFlags defines the flags of single sign-on.
func (c *SSOConfig) ssoFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", env("CIVIQ_OIDC_ISSUER", ""), "the identity platform's OpenID Connect issuer URL; sets single sign-on up, with --oidc-client-id, --oidc-redirect-url, --oidc-roles and the secret in "+EnvOIDCClientSecret+" (env CIVIQ_OIDC_ISSUER)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", env("CIVIQ_OIDC_CLIENT_ID", ""), "civiq's client id at the identity platform (env CIVIQ_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDCRedirectURL, "oidc-redirect-url", env("CIVIQ_OIDC_REDIRECT_URL", ""), "this site's callback as registered at the platform: https://civiq.example.gov.cn"+sso.CallbackPath+" (env CIVIQ_OIDC_REDIRECT_URL)")
	fs.StringVar(&c.OIDCScopes, "oidc-scopes", env("CIVIQ_OIDC_SCOPES", "profile"), "scopes asked besides openid, separated by spaces or commas (env CIVIQ_OIDC_SCOPES)")
	fs.StringVar(&c.OIDCUsernameClaim, "oidc-username-claim", env("CIVIQ_OIDC_USERNAME_CLAIM", "preferred_username"), "the ID token's claim that is the civiq username (env CIVIQ_OIDC_USERNAME_CLAIM)")
	fs.StringVar(&c.OIDCGroupsClaim, "oidc-groups-claim", env("CIVIQ_OIDC_GROUPS_CLAIM", "groups"), "the ID token's claim whose values --oidc-roles maps (env CIVIQ_OIDC_GROUPS_CLAIM)")
	fs.StringVar(&c.OIDCRoles, "oidc-roles", env("CIVIQ_OIDC_ROLES", ""), "claim values to roles and halls: 'value=admin; value=manager:hall,hall; value=staff:hall' (env CIVIQ_OIDC_ROLES)")
	fs.StringVar(&c.LDAPURL, "ldap-url", env("CIVIQ_LDAP_URL", ""), "the directory: ldap://host:389 or ldaps://host:636; its users sign in on the sign-in page's form (env CIVIQ_LDAP_URL)")
	fs.BoolVar(&c.LDAPStartTLS, "ldap-starttls", envBool("CIVIQ_LDAP_STARTTLS"), "upgrade an ldap:// connection with StartTLS before any password goes (env CIVIQ_LDAP_STARTTLS=1)")
	fs.StringVar(&c.LDAPCAFile, "ldap-ca-file", env("CIVIQ_LDAP_CA_FILE", ""), "PEM file of the certificates that sign the directory's (StartTLS, ldaps); the system's by default (env CIVIQ_LDAP_CA_FILE)")
	fs.StringVar(&c.LDAPBindDN, "ldap-bind-dn", env("CIVIQ_LDAP_BIND_DN", ""), "a person's DN, {username} in it: uid={username},ou=people,dc=example,dc=gov,dc=cn (env CIVIQ_LDAP_BIND_DN)")
	fs.StringVar(&c.LDAPBase, "ldap-base", env("CIVIQ_LDAP_BASE", ""), "or: where to search for the person (env CIVIQ_LDAP_BASE)")
	fs.StringVar(&c.LDAPFilter, "ldap-filter", env("CIVIQ_LDAP_FILTER", ""), "the search's filter, {username} in it: (uid={username}) (env CIVIQ_LDAP_FILTER)")
	fs.StringVar(&c.LDAPSearchDN, "ldap-search-dn", env("CIVIQ_LDAP_SEARCH_DN", ""), "the account that searches, its password in "+EnvLDAPSearchPassword+"; anonymous by default (env CIVIQ_LDAP_SEARCH_DN)")
	fs.StringVar(&c.LDAPUsernameAttr, "ldap-username-attr", env("CIVIQ_LDAP_USERNAME_ATTR", "uid"), "the entry's attribute that is the civiq username (env CIVIQ_LDAP_USERNAME_ATTR)")
	fs.StringVar(&c.LDAPGroupAttr, "ldap-group-attr", env("CIVIQ_LDAP_GROUP_ATTR", "memberOf"), "the entry's attribute naming its groups; \"\" for none (env CIVIQ_LDAP_GROUP_ATTR)")
	fs.StringVar(&c.LDAPGroupBase, "ldap-group-base", env("CIVIQ_LDAP_GROUP_BASE", ""), "where to search for the person's groups, by --ldap-group-filter (env CIVIQ_LDAP_GROUP_BASE)")
	fs.StringVar(&c.LDAPGroupFilter, "ldap-group-filter", env("CIVIQ_LDAP_GROUP_FILTER", "(member={dn})"), "the groups' filter, {dn} the person's DN, {username} the name (env CIVIQ_LDAP_GROUP_FILTER)")
	fs.StringVar(&c.LDAPRoles, "ldap-roles", env("CIVIQ_LDAP_ROLES", ""), "groups (a group's cn or its whole DN) to roles and halls, as --oidc-roles (env CIVIQ_LDAP_ROLES)")
	cidrsVar(fs, &c.OIDCAllow, "oidc-allow", "CIVIQ_OIDC_ALLOW", "comma-separated `CIDRs` of loopback, link-local or private addresses the identity platform may be reached at (an intranet's); none by default (env CIVIQ_OIDC_ALLOW)")
	cidrsVar(fs, &c.LDAPAllow, "ldap-allow", "CIVIQ_LDAP_ALLOW", "comma-separated `CIDRs` of loopback, link-local or private addresses the directory may be reached at, e.g. 10.20.0.7/32 (a directory is on the intranet: it needs them); none by default (env CIVIQ_LDAP_ALLOW)")
	fs.StringVar(&c.OIDCName, "oidc-name", env("CIVIQ_OIDC_NAME", ""), "the platform's name on the sign-in button, e.g. 省统一身份认证平台 (env CIVIQ_OIDC_NAME)")
}

// settings reads the flags as single sign-on's settings, checked; a bad
// one names its flag.
func (c *SSOConfig) settings() (*civiq.SSOSettings, error) {
	s := &civiq.SSOSettings{}
	if c.OIDCIssuer == "" {
		if c.OIDCClientID != "" || c.OIDCRedirectURL != "" || c.OIDCRoles != "" {
			return nil, fmt.Errorf("--oidc-client-id, --oidc-redirect-url and --oidc-roles need --oidc-issuer")
		}
	} else {
		s.OIDC = &civiq.OIDCSettings{Name: c.OIDCName, Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID,
			ClientSecret: os.Getenv(EnvOIDCClientSecret), RedirectURL: c.OIDCRedirectURL,
			Scopes:        strings.FieldsFunc(c.OIDCScopes, func(r rune) bool { return r == ' ' || r == ',' }),
			UsernameClaim: c.OIDCUsernameClaim, GroupsClaim: c.OIDCGroupsClaim, Roles: c.OIDCRoles}
	}
	if c.LDAPURL == "" {
		if c.LDAPBindDN != "" || c.LDAPBase != "" || c.LDAPRoles != "" {
			return nil, fmt.Errorf("--ldap-bind-dn, --ldap-base and --ldap-roles need --ldap-url")
		}
	} else {
		s.LDAP = &civiq.LDAPSettings{URL: c.LDAPURL, StartTLS: c.LDAPStartTLS, BindDN: c.LDAPBindDN, Base: c.LDAPBase,
			Filter: c.LDAPFilter, SearchDN: c.LDAPSearchDN, SearchPassword: os.Getenv(EnvLDAPSearchPassword),
			UsernameAttr: c.LDAPUsernameAttr, GroupAttr: c.LDAPGroupAttr, Roles: c.LDAPRoles}
		if c.LDAPGroupBase != "" {
			s.LDAP.GroupBase, s.LDAP.GroupFilter = c.LDAPGroupBase, c.LDAPGroupFilter
		}
	}
	if err := s.CheckAt(c.OIDCAllow, c.LDAPAllow); err != nil {
		var fe *civiq.Error
		if errors.As(err, &fe) && fe.Field != "" { // oidc.redirect_url is --oidc-redirect-url
			return nil, fmt.Errorf("--%s: %s", strings.NewReplacer(".", "-", "_", "-").Replace(fe.Field), fe.Message)
		}
		return nil, err
	}
	return s, nil
}

// roots reads --ldap-ca-file; nil without it.
func (c *SSOConfig) roots() (*x509.CertPool, error) {
	if c.LDAPCAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.LDAPCAFile)
	if err != nil {
		return nil, fmt.Errorf("--ldap-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ldap-ca-file %s: no PEM certificate in it", c.LDAPCAFile)
	}
	return pool, nil
}

// check reads the whole set-up, for the flags' errors at start, and
// keeps it for setSSO.
func (c *SSOConfig) check() error {
	s, err := c.settings()
	if err != nil {
		return err
	}
	roots, err := c.roots()
	if err != nil {
		return err
	}
	c.checked, c.checkedRoots = s, roots
	return nil
}

// setSSO sets single sign-on's flags up on a: in force while no admin has
// set it on the admin page (then the admin's win, and the log says so).
func (c *SSOConfig) setSSO(ctx context.Context, a *app.App) error {
	if c.checked == nil { // a Config made in code, not by ParseServeFlags
		if err := c.check(); err != nil {
			return err
		}
	}
	s := c.checked
	a.SetOIDCAllow(c.OIDCAllow) // before the flags' settings, which they check
	a.SetLDAPAllow(c.LDAPAllow)
	if err := a.SetSSOFlags(s, c.checkedRoots); err != nil {
		return err
	}
	if in, err := a.Engine.SSOInForce(ctx); err == nil && in.Source == civiq.SSOStore && (s.OIDC != nil || s.LDAP != nil) {
		slog.Warn("single sign-on: the settings an admin made on the admin page are in force, not the --oidc-…/--ldap-… flags",
			"updated_by", in.UpdatedBy, "updated_at", in.UpdatedAt)
	}
	return nil
}
